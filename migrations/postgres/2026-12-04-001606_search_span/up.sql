-- A words search on PostgreSQL needs, before its first read, the newest listing id, whether the
-- listings have statistics, and the planner's estimate of how many listings the words match
-- (store/search/reach.rs, `Span`). They were two round trips, a SELECT and an EXPLAIN; this
-- function answers all three in one. The estimate is the EXPLAIN's own (the same figure: the
-- query is planned with the words as a constant), so nothing else changes. VOLATILE because a
-- function that runs EXPLAIN may not be anything else; it writes nothing, so it runs in the
-- readers' READ ONLY transactions.
CREATE FUNCTION search_span(words text)
RETURNS TABLE (ceiling bigint, analysed boolean, expected bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
BEGIN
    ceiling := (SELECT COALESCE(MAX(id), 0) FROM listings);
    analysed := pg_stat_get_last_analyze_time('listings'::regclass) IS NOT NULL
        OR pg_stat_get_last_autoanalyze_time('listings'::regclass) IS NOT NULL;
    IF analysed THEN
        EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM listings l, '
            || 'to_tsquery(''bazaar_search'', $1) tsq WHERE l.search_vector @@ tsq'
            INTO plan USING words;
        expected := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
    END IF;
    RETURN NEXT;
END
$$;
