-- Search-as-you-type on SQLite: the last word's prefix is spelled out as the words it begins,
-- as on PostgreSQL, because FTS5 answers a prefix by merging the postings of every term it
-- begins before the first row ("black"* took 2.4 ms at 1M listings, "black" 0.3 ms).
--
-- The words come from the index's own tokenizer, so none is missed: `search_words_fts` holds
-- each vocabulary entry once (its tokenizer is the listings' without the stemmer: split at
-- every non-letter, lowercased, accents removed) and `search_tokens` lists its terms. A term
-- appears in about as many rows as there are spellings of it, so listing the terms of a range
-- reads a handful of postings, unlike the listings' own vocabulary (see `search_words`).
CREATE VIRTUAL TABLE search_words_fts USING fts5(
    word,
    tokenize = 'unicode61 remove_diacritics 2',
    detail = none
);
CREATE VIRTUAL TABLE search_tokens USING fts5vocab(search_words_fts, 'row');

CREATE TRIGGER search_words_tokens AFTER INSERT ON search_words BEGIN
    INSERT INTO search_words_fts (word) VALUES (new.word);
END;

-- Text that does not make a JSON array of words (a control character) now adds itself whole
-- as one entry rather than nothing, so its words still reach `search_tokens`.
DROP VIEW listing_words;
CREATE VIEW listing_words AS
SELECT t.id, w.value AS word
FROM (SELECT id, lower(title || ' ' || description) AS text, '["' || replace(
        replace(replace(replace(replace(replace(replace(replace(replace(
        replace(replace(replace(replace(replace(replace(replace(
            lower(title || ' ' || description),
            '.', ' '), ',', ' '), ';', ' '), ':', ' '), '!', ' '), '?', ' '), '(', ' '),
            ')', ' '), '/', ' '), '-', ' '), '"', ' '), '\', ' '),
            char(9), ' '), char(10), ' '), char(13), ' '),
        ' ', '","') || '"]' AS words
      FROM listings) AS t,
    json_each(CASE WHEN json_valid(t.words) THEN t.words ELSE json_array(t.text) END) AS w
WHERE length(w.value) >= 3;

INSERT OR IGNORE INTO search_words (word)
SELECT word FROM listing_words WHERE id IN (
    SELECT id FROM listings WHERE title || ' ' || description GLOB
        '*[' || char(1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                     25, 26, 27, 28, 29, 30, 31) || ']*'
);

INSERT INTO search_words_fts (word) SELECT word FROM search_words;
