DROP VIEW listing_words;
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
DROP TRIGGER search_words_tokens;
DROP TABLE search_tokens;
DROP TABLE search_words_fts;
