-- `search_span` estimates the words with a search's category and condition too, as the
-- planner does (their statistics times the words'): with those filters in the era index
-- (migration search_eras_filters) a search descends through the eras when the statistics put
-- words and filter together under 5% of the listings and walks the newest ids when they are
-- commoner. The words' estimate alone sent "size" in fashion (15% of the listings) through an
-- era's 2,450 matches (9.5 ms) where a walk of fashion's newest ids found 200 in 3.4 ms.
-- A session slot keeps the estimate of the words with their filters (the words alone keep
-- their slot and its text, as before).
CREATE FUNCTION search_span(words text, category_top text, category text, condition text)
RETURNS TABLE (ceiling bigint, analysed boolean, expected bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
    key text := words || COALESCE(' @top ' || category_top, '')
        || COALESCE(' @cat ' || category, '') || COALESCE(' @cond ' || condition, '');
    slot text := 'bazaar.search_span_' || (hashtext(key) & 63);
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
           AND substr(kept, length(kept_until) + length(kept_expected) + 3) = key THEN
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
            || CASE WHEN category_top IS NULL THEN '' ELSE ' AND l.category_top = $2' END
            || CASE WHEN category IS NULL THEN '' ELSE ' AND l.category = $3' END
            || CASE WHEN condition IS NULL THEN '' ELSE ' AND l.condition = $4' END
            INTO plan USING words, category_top, category, condition;
        expected := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
        PERFORM set_config(slot, (now_secs + 60) || ':' || expected || ':' || key, false);
    END IF;
    RETURN NEXT;
END
$$;

-- The words alone, as before.
CREATE OR REPLACE FUNCTION search_span(words text)
RETURNS TABLE (ceiling bigint, analysed boolean, expected bigint)
LANGUAGE sql VOLATILE AS $$
  SELECT * FROM search_span(words, NULL, NULL, NULL)
$$;
