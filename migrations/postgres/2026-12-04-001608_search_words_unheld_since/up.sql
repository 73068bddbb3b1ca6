-- The vocabulary sweep forgets a word in two sightings, not one (store/search/forget.rs): the
-- first marks it (`unheld_since`), the second, a grace period later, deletes it if no listing
-- holds it then either and it is still marked. A listing written while its word is being
-- forgotten could otherwise lose it: its trigger found the word there and added nothing, the
-- sweep (whose snapshot did not see the listing yet) deleted it, and the listing committed.
-- Now, before a listing's words are added, the marks of those the sweep had found unheld are
-- cleared, their rows locked in word order (the sweep skips a locked row): a delete racing the
-- listing either skipped the row or deleted it first, and the add then inserts it again. A
-- mark the listing's check cannot see yet was set by a first sighting, whose second comes a
-- grace later, when the listing has long committed and is seen holding the word. The words
-- are looked for among the marked ones only when any is marked (a probe of a partial index;
-- nearly always none): 3,000 single-row inserts at 1M listings took 491-543 ms this way,
-- 414-467 without clearing, 584-617 with the clearing as triggers of their own.
ALTER TABLE search_words ADD COLUMN unheld_since TIMESTAMP;
CREATE INDEX search_words_unheld ON search_words (word) WHERE unheld_since IS NOT NULL;

-- The words of a listing's `title || ' ' || description` as the vocabulary keeps them.
CREATE FUNCTION bazaar_vocabulary_of(text) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT w FROM unnest(tsvector_to_array(to_tsvector('simple', unaccent($1)))) AS w
    WHERE length(w) >= 4
$$;

CREATE FUNCTION bazaar_search_words_clear(words text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_words s SET unheld_since = NULL
    FROM (SELECT word FROM search_words
          WHERE unheld_since IS NOT NULL AND word = ANY (words)
          ORDER BY word FOR UPDATE) marked
    WHERE s.word = marked.word;
END
$$;

CREATE OR REPLACE FUNCTION bazaar_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM search_words WHERE unheld_since IS NOT NULL) THEN
        PERFORM bazaar_search_words_clear(ARRAY(
            SELECT DISTINCT w FROM new_rows,
                bazaar_vocabulary_of(new_rows.title || ' ' || new_rows.description) AS w));
    END IF;
    -- Sorted, so two transactions adding the same new words take their locks in one order.
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM new_rows,
        bazaar_vocabulary_of(new_rows.title || ' ' || new_rows.description) AS w
    ORDER BY w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION bazaar_search_words_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM search_words WHERE unheld_since IS NOT NULL) THEN
        PERFORM bazaar_search_words_clear(ARRAY(
            SELECT DISTINCT w FROM bazaar_vocabulary_of(NEW.title || ' ' || NEW.description) AS w));
    END IF;
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM bazaar_vocabulary_of(NEW.title || ' ' || NEW.description) AS w
    ORDER BY w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
