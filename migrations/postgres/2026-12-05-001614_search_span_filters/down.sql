DROP FUNCTION search_span(text);
DROP FUNCTION search_span(text, text, text, text);
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
