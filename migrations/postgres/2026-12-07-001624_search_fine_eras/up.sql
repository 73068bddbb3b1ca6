-- The fine era index: each listing's words once more under its fine era, its id's group of
-- 4,096 (`id >> 12`), beside the era index's groups of 16,384 (`listings_search_eras`, which
-- also holds the category, condition and price entries). A descent's read of an era fetches
-- and sorts every match the era holds, and words without such a filter are often dense: the
-- prefix "cam" (4.6% of the listings) fetched ~750 rows of an era of 16,384 for relevance's
-- 200 candidates, PostgreSQL's costliest search kind (1.5 ms of CPU); from eras of 4,096, ~210.
-- A descent without filters reads the fine eras in windows that double (one era, one, two,
-- four, …: Rust's `domain::search::era_windows`), so a rare word costs no more probes. With a
-- filter the matches are sparse and a descent reads many eras: there an index of fine eras
-- cost twice as much (each window's query names every entry of its eras, and GIN checks that
-- query on every candidate: facets of "black" in home from 1.00 to 20.00 at 1M, 236/s through
-- 64 eras of 16,384, 128/s through fine eras in windows of at most four), so those keep the
-- era index. Rust's `domain::search::FINE_ERA_BITS` is the same 12.
CREATE FUNCTION search_fine_eras(id BIGINT, v tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_replace(v::text, '''((?:[^'']|'''')+)''', '''' || (id >> 12)::text || '.\1''', 'g')::tsvector
$$;

-- The query `q` over the fine eras of the ids `lo` to `hi`, as `search_era_query` over eras.
CREATE FUNCTION search_fine_era_query(q tsquery, lo BIGINT, hi BIGINT) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_replace(q::text, '''([^'']+)''(:\*)?',
    '( ' || string_agg('''' || e || '.\1''\2', ' | ') || ' )', 'g')::tsquery
  FROM generate_series(hi >> 12, lo >> 12, -1) e
$$;

-- Without a pending list, as `listings_search` (migration gin_without_pending_list).
CREATE INDEX listings_search_fine_eras ON listings USING GIN (search_fine_eras(id, search_vector))
  WITH (fastupdate = off);
