-- `search_span` with a price range too (from min_price to max_price cents, either NULL for
-- none): the search gives it the range the era index holds (a narrow one, in price buckets),
-- so the estimate of the words and filters together counts only the matches the reads will
-- take. "jacket" from 10 to 50 EUR: 15,873 listings hold the word, 421 of them in the range
-- (estimated 438); estimated at 16,700, a first relevance page read all 200 candidates
-- through 30 eras of the era index (~490,000 ids), where the newest 50,000 ids hold a page.
CREATE FUNCTION search_span(words text, category_top text, category text, condition text,
                            min_price bigint, max_price bigint)
RETURNS TABLE (ceiling bigint, analysed boolean, expected bigint, words_expected bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
    key text := words || COALESCE(' @top ' || category_top, '')
        || COALESCE(' @cat ' || category, '') || COALESCE(' @cond ' || condition, '')
        || COALESCE(' @min ' || min_price, '') || COALESCE(' @max ' || max_price, '');
    slot text := 'bazaar.search_span_' || (hashtext(key) & 63);
    kept text := current_setting(slot, true);
    now_secs bigint := extract(epoch FROM clock_timestamp())::bigint;
    kept_until text;
    kept_words text;
    kept_expected text;
    filtered boolean := category_top IS NOT NULL OR category IS NOT NULL
        OR condition IS NOT NULL OR min_price IS NOT NULL OR max_price IS NOT NULL;
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
            || CASE WHEN min_price IS NULL THEN '' ELSE ' AND l.price_cents >= $5' END
            || CASE WHEN max_price IS NULL THEN '' ELSE ' AND l.price_cents <= $6' END
            INTO plan USING words, category_top, category, condition, min_price, max_price;
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

-- The four filters of before, no price range.
CREATE OR REPLACE FUNCTION search_span(words text, category_top text, category text, condition text)
RETURNS TABLE (ceiling bigint, analysed boolean, expected bigint, words_expected bigint)
LANGUAGE sql VOLATILE AS $$
  SELECT ceiling, analysed, expected, words_expected
  FROM search_span(words, category_top, category, condition, NULL, NULL)
$$;
