-- Typo tolerance: the FTS5 index's own vocabulary (its stemmed terms), read in ranges.
CREATE VIRTUAL TABLE listings_fts_vocab USING fts5vocab(listings_fts, 'row');
