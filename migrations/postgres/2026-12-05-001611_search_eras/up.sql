-- The era index: each listing's words once more, prefixed by its era (its id's group of
-- 16,384: `id >> 14`), so a read of the newest ids takes from the index only the matches in
-- the eras it covers. The words' own index (`listings_search`) yields a word's every match,
-- so a read of the newest 100,000 ids for a word in 1.6% of a million listings scanned all
-- 16,000 of its entries and intersected them with the id range (7.8 ms); through the eras it
-- takes the ~1,600 in range (1.4–2 ms). Searches read the newest matches (relevance ranks the
-- newest 200, facets count the newest 1,001), so what a read costs stays the same at any size.
-- Rust's `domain::search::ERA_BITS` is the same 14 (it only decides when to read by eras).
CREATE FUNCTION search_eras(id BIGINT, v tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT array_to_tsvector(ARRAY(
    SELECT (id >> 14)::text || '.' || w FROM unnest(tsvector_to_array(v)) w))
$$;

-- The query `q` over the eras of the ids `lo` to `hi` (newest first): each word becomes the
-- alternatives of its era-prefixed forms, `'jacket':*` → `( '61.jacket':* | '60.jacket':* )`.
-- A listing's words all carry its one era, so `a & b` over the eras still needs both in one
-- listing. Words are alphanumeric (`TextQuery`), so a quoted lexeme is the whole of it.
CREATE FUNCTION search_era_query(q tsquery, lo BIGINT, hi BIGINT) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_replace(q::text, '''([^'']+)''(:\*)?',
    '( ' || string_agg('''' || e || '.\1''\2', ' | ') || ' )', 'g')::tsquery
  FROM generate_series(hi >> 14, lo >> 14, -1) e
$$;

-- Without a pending list, as `listings_search` (migration gin_without_pending_list).
CREATE INDEX listings_search_eras ON listings USING GIN (search_eras(id, search_vector))
  WITH (fastupdate = off);
