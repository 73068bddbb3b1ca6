-- SQLite's words index (FTS5) is merged only by the server's `WordsIndexMerger`, in the
-- background, a bounded step a write; no longer by the writers of listings as they go.
--
-- FTS5's own merging (`automerge`) does a unit of work every 64 leaf pages written: 64 pages
-- for each level its structure holds, carried by whichever write crosses the mark. And each
-- merge of all its b-trees into one (`merge` with a negative count, `optimize`) puts them on
-- a new level above the others, so a server that merges often holds ever more levels, and a
-- listing's insert could rewrite thousands of pages of the index while every other writer
-- waited at the gate, the write-ahead log passing its bound by as much (a CI run saw 385
-- pages after one write of a test's 600 listings; 6,000 inserts one by one, the worst of
-- them changed 2,077 rows of the index, against 7 with it off). Off, a write adds its own
-- small b-tree and nothing more, unless a level has gathered 16 (`crisismerge`, which the
-- merger's steps keep from coming). The merger merges a level once it holds two b-trees
-- (`usermerge`), as FTS5's own merging did.
INSERT INTO listings_fts (listings_fts, rank) VALUES ('automerge', 0);
INSERT INTO listings_fts (listings_fts, rank) VALUES ('usermerge', 2);
