DROP TRIGGER listings_search_words_clear_update ON listings;
DROP TRIGGER listings_search_words_clear_insert ON listings;
DROP FUNCTION bazaar_search_words_clear_row();
DROP FUNCTION bazaar_search_words_clear_rows();
DROP FUNCTION bazaar_search_words_clear(text[]);
DROP FUNCTION bazaar_vocabulary_of(text);
DROP INDEX search_words_unheld;
ALTER TABLE search_words DROP COLUMN unheld_since;
