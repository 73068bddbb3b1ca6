DROP TRIGGER listings_fts_insert;
DROP TRIGGER listings_fts_delete;
DROP TRIGGER listings_fts_unindex;
DROP TRIGGER listings_fts_index;
DROP TABLE listings_fts;
DROP VIEW listings_fts_content;
DROP TABLE search_price_bounds;
CREATE VIRTUAL TABLE listings_fts USING fts5(
    title, description, category,
    content = 'listings', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO listings_fts (listings_fts, rank) VALUES ('automerge', 2);
CREATE TRIGGER listings_fts_insert AFTER INSERT ON listings BEGIN
    INSERT INTO listings_fts (rowid, title, description, category)
    VALUES (new.id, new.title, new.description, replace(coalesce(new.category, ''), '-', ' '));
END;
CREATE TRIGGER listings_fts_delete AFTER DELETE ON listings BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, title, description, category)
    VALUES ('delete', old.id, old.title, old.description, replace(coalesce(old.category, ''), '-', ' '));
END;
CREATE TRIGGER listings_fts_update AFTER UPDATE OF title, description, category ON listings
WHEN old.title IS NOT new.title OR old.description IS NOT new.description
     OR old.category IS NOT new.category
BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, title, description, category)
    VALUES ('delete', old.id, old.title, old.description, replace(coalesce(old.category, ''), '-', ' '));
    INSERT INTO listings_fts (rowid, title, description, category)
    VALUES (new.id, new.title, new.description, replace(coalesce(new.category, ''), '-', ' '));
END;
INSERT INTO listings_fts (rowid, title, description, category)
    SELECT id, title, description, replace(coalesce(category, ''), '-', ' ') FROM listings;
