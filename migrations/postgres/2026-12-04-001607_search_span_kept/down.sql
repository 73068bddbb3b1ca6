-- search_span as it was: the estimate made at every call.
CREATE OR REPLACE FUNCTION search_span(words text)
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
