-- `search_span` keeps the planner's estimate of a query's words on the session for a minute.
-- The estimate is an EXPLAIN, and planning a words match looks the words up in the column's
-- statistics (a detoast and a search of ~1,000 common elements): at 1M listings the call took
-- 0.24-0.37 ms, a quarter of a rare word's search in PostgreSQL, where the newest id alone
-- takes 0.03 ms. The same words asked again within the minute on the same connection (the
-- pool's few connections serve every request) are answered from one of 64 slots, each a
-- session setting holding "<expiry, epoch seconds>:<estimate>:<words>", chosen by the words'
-- hash; a slot answers only for the very words it holds, so a collision only costs an EXPLAIN.
-- An estimate older than an ANALYZE is used until it expires: it only sizes a search's reads
-- (store/search/reach.rs), never decides what matches. Before the first ANALYZE nothing is
-- kept. 64 slots of at most a query's 200 characters (a few KB as a tsquery) per session: the
-- memory a client can make a connection hold stays bounded.
CREATE OR REPLACE FUNCTION search_span(words text)
RETURNS TABLE (ceiling bigint, analysed boolean, expected bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
    slot text := 'bazaar.search_span_' || (hashtext(words) & 63);
    kept text := current_setting(slot, true);
    now_secs bigint := extract(epoch FROM clock_timestamp())::bigint;
    kept_until text;
    kept_expected text;
BEGIN
    ceiling := (SELECT COALESCE(MAX(id), 0) FROM listings);
    IF kept IS NOT NULL AND kept <> '' THEN
        kept_until := split_part(kept, ':', 1);
        kept_expected := split_part(kept, ':', 2);
        IF kept_until::bigint > now_secs
           AND substr(kept, length(kept_until) + length(kept_expected) + 3) = words THEN
            analysed := true;
            expected := kept_expected::bigint;
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    analysed := pg_stat_get_last_analyze_time('listings'::regclass) IS NOT NULL
        OR pg_stat_get_last_autoanalyze_time('listings'::regclass) IS NOT NULL;
    IF analysed THEN
        EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM listings l, '
            || 'to_tsquery(''bazaar_search'', $1) tsq WHERE l.search_vector @@ tsq'
            INTO plan USING words;
        expected := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
        PERFORM set_config(slot, (now_secs + 60) || ':' || expected || ':' || words, false);
    END IF;
    RETURN NEXT;
END
$$;
