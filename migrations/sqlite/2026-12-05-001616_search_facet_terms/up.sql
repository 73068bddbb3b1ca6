-- Words with filters on SQLite: FTS5 also indexes each listing's filter values as terms of a
-- fourth column, `facets`, so a search with words and a category, a condition or a narrow
-- price range finds only the listings that hold both, as one FTS5 query (it steps each term's
-- postings against the others), and compares the exact filters on those rows only. Before,
-- FTS5 yielded every match of the words newest first and each was looked up in `listings` to
-- compare the filters: at 1M listings the facets of "black" in home from 1 to 20 EUR looked
-- up ~75,000 rows (p99 590 ms), "jacket" in home (none) every one of its 15,873 matches.
--
-- A term is U+E000 (a private-use character: FTS5's tokenizer keeps it in a token, and a
-- search's words are letters and digits only, so no word typed is or begins such a term), a
-- letter and the value: 't' and the top-level category, 'c' and the category, 'k' and the
-- condition, with '-' and '_' left out; 'p' and the price: the index of the highest bound of
-- `search_price_bounds` it reaches, two digits, or 'u' under the first (Rust's
-- `domain::search::price_term`), so a decade's prices share their first three characters and
-- a range holding a whole decade reads it as one prefix, through FTS5's prefix index of 3.
--
-- And FTS5's rowid is the listing id negated (the view's `fts_id`), so a read of the newest
-- matches first is FTS5's forward walk. FTS5 walks backwards a page at a time, parsing each
-- page forwards first, and seeks backwards posting by posting where a forward seek skips
-- whole pages by the doclist index: at 1M listings FTS5's newest 200 matches of "leather
-- jacket" took 0.239 ms backwards and 0.165 forwards, of "jacket" from 10 to 50 EUR 0.754 and
-- 0.557, the newest 1,001 of "black" in home from 1 to 20 EUR 3.02 and 1.91.
CREATE TABLE search_price_bounds (bound INTEGER PRIMARY KEY);
INSERT INTO search_price_bounds (bound) VALUES
    (100), (125), (160), (200), (250), (315), (400), (500), (630), (800),
    (1000), (1250), (1600), (2000), (2500), (3150), (4000), (5000), (6300), (8000),
    (10000), (12500), (16000), (20000), (25000), (31500), (40000), (50000), (63000), (80000),
    (100000), (125000), (160000), (200000), (250000), (315000), (400000), (500000), (630000), (800000),
    (1000000), (1250000), (1600000), (2000000), (2500000), (3150000), (4000000), (5000000), (6300000), (8000000),
    (10000000), (12500000), (16000000), (20000000), (25000000), (31500000), (40000000), (50000000), (63000000), (80000000),
    (100000000), (125000000), (160000000), (200000000), (250000000), (315000000), (400000000), (500000000), (630000000), (800000000);

-- What FTS5 indexes of a listing (its external content): its rowid, the text columns as
-- before (the category's '-' a space, so "fashion men" are words), and the filter terms.
CREATE VIEW listings_fts_content AS
SELECT -id AS fts_id, id, title, description, replace(coalesce(category, ''), '-', ' ') AS category,
    char(57344) || 'p' || (SELECT CASE WHEN count(*) = 0 THEN 'u' ELSE printf('%02d', count(*) - 1)
                                  END FROM search_price_bounds b WHERE b.bound <= price_cents)
    || coalesce(' ' || char(57344) || 't' || category_top, '')
    || coalesce(' ' || char(57344) || 'c' || replace(category, '-', ''), '')
    || coalesce(' ' || char(57344) || 'k' || replace(condition, '_', ''), '') AS facets
FROM listings;

DROP TRIGGER listings_fts_insert;
DROP TRIGGER listings_fts_delete;
DROP TRIGGER listings_fts_update;
DROP TABLE listings_fts;
CREATE VIRTUAL TABLE listings_fts USING fts5(
    title, description, category, facets,
    content = 'listings_fts_content', content_rowid = 'fts_id',
    tokenize = 'porter unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO listings_fts (listings_fts, rank) VALUES ('automerge', 2);

-- Kept by triggers, each reading the row through the view: a row is taken out of the index
-- before it changes or goes (as it was indexed), and put in after it is written. Every listing
-- write sets every column (prices, stock, likes too): only a change of what is indexed
-- re-indexes it, a price only when it moves to another bucket.
CREATE TRIGGER listings_fts_insert AFTER INSERT ON listings BEGIN
    INSERT INTO listings_fts (rowid, title, description, category, facets)
    SELECT fts_id, title, description, category, facets FROM listings_fts_content WHERE id = new.id;
END;
CREATE TRIGGER listings_fts_delete BEFORE DELETE ON listings BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, title, description, category, facets)
    SELECT 'delete', fts_id, title, description, category, facets
    FROM listings_fts_content WHERE id = old.id;
END;
CREATE TRIGGER listings_fts_unindex BEFORE UPDATE OF title, description, category, condition,
    price_cents ON listings
WHEN old.title IS NOT new.title OR old.description IS NOT new.description
     OR old.category IS NOT new.category OR old.condition IS NOT new.condition
     OR (SELECT count(*) FROM search_price_bounds WHERE bound <= old.price_cents)
        <> (SELECT count(*) FROM search_price_bounds WHERE bound <= new.price_cents)
BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, title, description, category, facets)
    SELECT 'delete', fts_id, title, description, category, facets
    FROM listings_fts_content WHERE id = old.id;
END;
CREATE TRIGGER listings_fts_index AFTER UPDATE OF title, description, category, condition,
    price_cents ON listings
WHEN old.title IS NOT new.title OR old.description IS NOT new.description
     OR old.category IS NOT new.category OR old.condition IS NOT new.condition
     OR (SELECT count(*) FROM search_price_bounds WHERE bound <= old.price_cents)
        <> (SELECT count(*) FROM search_price_bounds WHERE bound <= new.price_cents)
BEGIN
    INSERT INTO listings_fts (rowid, title, description, category, facets)
    SELECT fts_id, title, description, category, facets FROM listings_fts_content WHERE id = new.id;
END;

-- Every listing indexed anew, in one b-tree (`WordsIndexMerger` keeps it so).
INSERT INTO listings_fts (listings_fts) VALUES ('rebuild');
INSERT INTO listings_fts (listings_fts) VALUES ('optimize');
