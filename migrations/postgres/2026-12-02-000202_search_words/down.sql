DROP TRIGGER listings_search_words_update ON listings;
DROP TRIGGER listings_search_words_insert ON listings;
DROP FUNCTION bazaar_search_words_row();
DROP FUNCTION bazaar_search_words();
DROP TABLE search_words;
