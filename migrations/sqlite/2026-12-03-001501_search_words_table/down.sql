CREATE VIRTUAL TABLE listings_fts_vocab USING fts5vocab(listings_fts, 'row');
DROP TRIGGER listings_search_words_update;
DROP TRIGGER listings_search_words_insert;
DROP VIEW listing_words;
DROP TABLE search_words;
