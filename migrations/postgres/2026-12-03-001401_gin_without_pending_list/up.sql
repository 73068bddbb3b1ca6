-- The GIN indexes searched on every request take their new entries at once. With fastupdate
-- (PostgreSQL's default) new rows' entries wait in a pending list of up to 4 MB that every
-- search of the index reads through in full: on the 1M catalogue a rare word's index scan
-- read 165 pages (162 of them the pending list) in 2.2 ms, and 40 µs once it was merged.
-- Searches far outnumber listing writes, so each write pays for its own entries instead.
ALTER INDEX listings_search SET (fastupdate = off);
ALTER INDEX saved_searches_anchor_words SET (fastupdate = off);
-- What is pending now is merged into the index.
SELECT gin_clean_pending_list('listings_search'::regclass);
SELECT gin_clean_pending_list('saved_searches_anchor_words'::regclass);
