-- The triggers' functions as migration search_words made them: the words added, no mark
-- cleared.
CREATE OR REPLACE FUNCTION bazaar_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM new_rows,
        unnest(tsvector_to_array(to_tsvector('simple',
            unaccent(new_rows.title || ' ' || new_rows.description)))) AS w
    WHERE length(w) >= 4
    ORDER BY w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION bazaar_search_words_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM
        unnest(tsvector_to_array(to_tsvector('simple',
            unaccent(NEW.title || ' ' || NEW.description)))) AS w
    WHERE length(w) >= 4
    ORDER BY w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

DROP FUNCTION bazaar_search_words_clear(text[]);
DROP FUNCTION bazaar_vocabulary_of(text);
DROP INDEX search_words_unheld;
ALTER TABLE search_words DROP COLUMN unheld_since;
