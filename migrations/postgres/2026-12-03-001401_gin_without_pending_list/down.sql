ALTER INDEX listings_search RESET (fastupdate);
ALTER INDEX saved_searches_anchor_words RESET (fastupdate);
