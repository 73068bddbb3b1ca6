INSERT INTO listings_fts (listings_fts, rank) VALUES ('usermerge', 4);
INSERT INTO listings_fts (listings_fts, rank) VALUES ('automerge', 2);
