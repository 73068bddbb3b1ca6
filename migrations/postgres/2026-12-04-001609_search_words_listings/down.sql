ALTER TABLE search_words DROP COLUMN corrections;
ALTER TABLE search_words DROP COLUMN listings;
