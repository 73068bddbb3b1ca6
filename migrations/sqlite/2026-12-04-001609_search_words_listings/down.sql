ALTER TABLE search_words DROP COLUMN listings;
