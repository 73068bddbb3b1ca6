-- Typo tolerance on SQLite: the vocabulary of the listings' words (lowercased, split at
-- spaces, common punctuation and line breaks, unstemmed, 3+ characters), kept by triggers and
-- read in ranges of a first letter. It replaces the FTS5 index's own vocabulary (fts5vocab),
-- which counts every posting of every term it lists: at 1M listings a typo's read of the terms
-- of one first letter took ~350 ms. Typo correction only proposes words from it and FTS5 still
-- does all matching, so a word this crude split misses (glued to other punctuation) only goes
-- uncorrected. Text that would not make a JSON array (a control character) adds no words
-- rather than failing the write. SQLite's parser allows only so many nested calls, hence the
-- short list of separators.
CREATE TABLE search_words (word TEXT PRIMARY KEY) WITHOUT ROWID;

-- Each listing's words: its text as a JSON array of strings, one per word.
CREATE VIEW listing_words AS
SELECT t.id, w.value AS word
FROM (SELECT id, '["' || replace(
        replace(replace(replace(replace(replace(replace(replace(replace(
        replace(replace(replace(replace(replace(replace(replace(
            lower(title || ' ' || description),
            '.', ' '), ',', ' '), ';', ' '), ':', ' '), '!', ' '), '?', ' '), '(', ' '),
            ')', ' '), '/', ' '), '-', ' '), '"', ' '), '\', ' '),
            char(9), ' '), char(10), ' '), char(13), ' '),
        ' ', '","') || '"]' AS words
      FROM listings) AS t,
    json_each(CASE WHEN json_valid(t.words) THEN t.words ELSE '[]' END) AS w
WHERE length(w.value) >= 3;

CREATE TRIGGER listings_search_words_insert AFTER INSERT ON listings BEGIN
    INSERT OR IGNORE INTO search_words (word) SELECT word FROM listing_words WHERE id = new.id;
END;

CREATE TRIGGER listings_search_words_update AFTER UPDATE OF title, description ON listings
WHEN old.title IS NOT new.title OR old.description IS NOT new.description
BEGIN
    INSERT OR IGNORE INTO search_words (word) SELECT word FROM listing_words WHERE id = new.id;
END;

INSERT OR IGNORE INTO search_words (word) SELECT word FROM listing_words;

DROP TABLE listings_fts_vocab;
