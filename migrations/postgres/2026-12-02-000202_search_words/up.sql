-- Typo tolerance: the vocabulary of listing words (lowercased, accents folded, unstemmed, 4+
-- letters), kept by triggers, trigram-indexed (GiST, for nearest-first reads) so a misspelt word
-- finds its neighbours.
CREATE TABLE search_words (word TEXT PRIMARY KEY);
CREATE INDEX search_words_trgm ON search_words USING GIST (word gist_trgm_ops);

CREATE FUNCTION bazaar_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Sorted, so two transactions adding the same new words take their locks in one order.
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

CREATE FUNCTION bazaar_search_words_row() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- Inserts: once per statement (bulk loads); edits: only when the text changed (a purchase or a
-- like never pays for it).
CREATE TRIGGER listings_search_words_insert AFTER INSERT ON listings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bazaar_search_words();
CREATE TRIGGER listings_search_words_update AFTER UPDATE OF title, description ON listings
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title
                       OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION bazaar_search_words_row();

INSERT INTO search_words (word)
SELECT DISTINCT w FROM listings,
    unnest(tsvector_to_array(to_tsvector('simple', unaccent(title || ' ' || description)))) AS w
WHERE length(w) >= 4
ON CONFLICT DO NOTHING;
