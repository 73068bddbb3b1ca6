DROP TABLE listings_fts;
CREATE VIRTUAL TABLE listings_fts USING fts5(
    title, description, category,
    content = 'listings', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO listings_fts (rowid, title, description, category)
    SELECT id, title, description, replace(coalesce(category, ''), '-', ' ') FROM listings;
