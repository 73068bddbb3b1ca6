-- The era index also holds each listing's category, top-level category and condition, as
-- entries of their own in its era: "<era>. top fashion", "<era>. cat fashion-men",
-- "<era>. cond new" (the space keeps them apart from any word: the parser never puts one in a
-- lexeme). A search or facets call filtered by category or condition then finds, in each era
-- of a descent, only the listings that match the words and the filter, as one intersection in
-- the index. Before, eras did not serve those filters: the words were read from the words'
-- index and the filter intersected with the category's whole id list, or the newest ids were
-- walked for a conjunction the filter made rare (at 1M listings: "quokka" in fashion 24 ms,
-- facets of "jacket" in good condition 47 ms, "size home" in new fashion 150–190 ms).
-- Rust's `domain::search::era_filter_query` writes the same entries for a query.
CREATE FUNCTION search_eras(id BIGINT, v tsvector, category TEXT, condition TEXT)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT COALESCE(search_eras(id, v), ''::tsvector) || array_to_tsvector(ARRAY(
    SELECT (id >> 14)::text || '. ' || f
    FROM unnest(ARRAY['top ' || split_part(category, '-', 1), 'cat ' || category,
                      'cond ' || condition]) f
    WHERE f IS NOT NULL))
$$;

DROP INDEX listings_search_eras;
CREATE INDEX listings_search_eras ON listings
  USING GIN (search_eras(id, search_vector, category, condition)) WITH (fastupdate = off);
