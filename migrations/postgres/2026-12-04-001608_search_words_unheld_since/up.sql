-- The vocabulary sweep forgets a word in two sightings, not one (store/search/forget.rs): the
-- first marks it (`unheld_since`), the second, a grace period later, deletes it if no listing
-- holds it then either and it is still marked. A listing written while its word is being
-- forgotten could otherwise lose it: its trigger found the word there and added nothing, the
-- sweep (whose snapshot did not see the listing yet) deleted it, and the listing committed.
-- Now, before a listing's words are added, the marks of those the sweep had found unheld are
-- cleared, their rows locked in word order (the sweep skips a locked row): a delete racing the
-- listing either waits for nothing (it skipped the row) or has deleted the row first, which
-- the add then inserts again. A listing whose words were added before the mark committed long
-- before the second sighting, which sees it. Unmarked words, nearly all, are neither locked
-- nor written. The clearing triggers fire just before the adding ones (same events, names
-- sorted before theirs: PostgreSQL fires them in name order).
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

CREATE FUNCTION bazaar_search_words_clear_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bazaar_search_words_clear(ARRAY(
        SELECT DISTINCT w FROM new_rows,
            bazaar_vocabulary_of(new_rows.title || ' ' || new_rows.description) AS w));
    RETURN NULL;
END
$$;

CREATE FUNCTION bazaar_search_words_clear_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bazaar_search_words_clear(ARRAY(
        SELECT DISTINCT w FROM bazaar_vocabulary_of(NEW.title || ' ' || NEW.description) AS w));
    RETURN NULL;
END
$$;

CREATE TRIGGER listings_search_words_clear_insert AFTER INSERT ON listings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION bazaar_search_words_clear_rows();
CREATE TRIGGER listings_search_words_clear_update AFTER UPDATE OF title, description ON listings
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title
                       OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION bazaar_search_words_clear_row();
