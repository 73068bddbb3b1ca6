DROP TABLE listings_fts_vocab;
