-- Search-as-you-type on SQLite: prefix indexes of 2 and 3 characters. A last word of 2 or 3
-- letters stays a prefix (only 4+ are spelled out as the words they begin), and FTS5 answered
-- one by merging the postings of every term it begins before the first row: at 1M listings
-- the newest 200 matches of "cam"* took 1.98 ms and of "ca"* 10.2 ms, a word 0.13 ms. With the
-- prefix indexes each is one term's postings: 0.09 ms for both. The index grows by about
-- 110 MB at 1M listings and the rebuild below took 10 s there (a probe).
DROP TABLE listings_fts;
CREATE VIRTUAL TABLE listings_fts USING fts5(
    title, description, category,
    content = 'listings', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2',
    prefix = '2 3'
);
-- FTS5 keeps its index as b-trees on levels and merges a level's b-trees into one as writes
-- go by, from 4 on a level by default. Each b-tree is one more place every query looks: at 1M
-- listings grown by inserts the common word answered 756 r/s, the same catalogue with its
-- index merged into one 1,219. From 2 on a level, writes keep it near one b-tree per level.
INSERT INTO listings_fts (listings_fts, rank) VALUES ('automerge', 2);
INSERT INTO listings_fts (rowid, title, description, category)
    SELECT id, title, description, replace(coalesce(category, ''), '-', ' ') FROM listings;
