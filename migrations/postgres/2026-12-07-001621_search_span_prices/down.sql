DROP FUNCTION search_span(text, text, text, text, bigint, bigint);
-- search_span with four filters as migration search_span_statistics made it.
CREATE OR REPLACE FUNCTION search_span(words text, category_top text, category text, condition text)
RETURNS TABLE (ceiling bigint, analysed boolean, expected bigint, words_expected bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
    key text := words || COALESCE(' @top ' || category_top, '')
        || COALESCE(' @cat ' || category, '') || COALESCE(' @cond ' || condition, '');
    slot text := 'bazaar.search_span_' || (hashtext(key) & 63);
    kept text := current_setting(slot, true);
    now_secs bigint := extract(epoch FROM clock_timestamp())::bigint;
    kept_until text;
    kept_words text;
    kept_expected text;
    filtered boolean := category_top IS NOT NULL OR category IS NOT NULL
        OR condition IS NOT NULL;
BEGIN
    ceiling := (SELECT COALESCE(MAX(id), 0) FROM listings);
    IF kept IS NOT NULL AND kept <> '' THEN
        kept_until := split_part(kept, ':', 1);
        kept_words := split_part(kept, ':', 2);
        kept_expected := split_part(kept, ':', 3);
        IF kept_until::bigint > now_secs
           AND substr(kept, length(kept_until) + length(kept_words)
                            + length(kept_expected) + 4) = key THEN
            analysed := true;
            words_expected := kept_words::bigint;
            expected := kept_expected::bigint;
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    -- The times first (cheap); the statistics themselves when neither is on record.
    analysed := pg_stat_get_last_analyze_time('listings'::regclass) IS NOT NULL
        OR pg_stat_get_last_autoanalyze_time('listings'::regclass) IS NOT NULL
        OR EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema()
                   AND tablename = 'listings' AND attname = 'search_vector');
    IF analysed THEN
        EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM listings l, '
            || 'to_tsquery(''bazaar_search'', $1) tsq WHERE l.search_vector @@ tsq'
            || CASE WHEN category_top IS NULL THEN '' ELSE ' AND l.category_top = $2' END
            || CASE WHEN category IS NULL THEN '' ELSE ' AND l.category = $3' END
            || CASE WHEN condition IS NULL THEN '' ELSE ' AND l.condition = $4' END
            INTO plan USING words, category_top, category, condition;
        expected := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
        words_expected := expected;
        IF filtered THEN
            EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM listings l, '
                || 'to_tsquery(''bazaar_search'', $1) tsq WHERE l.search_vector @@ tsq'
                INTO plan USING words;
            words_expected := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
        END IF;
        PERFORM set_config(slot, (now_secs + 60) || ':' || words_expected || ':' || expected
            || ':' || key, false);
    END IF;
    RETURN NEXT;
END
$$;
