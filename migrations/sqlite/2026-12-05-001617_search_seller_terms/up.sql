-- A shop's own search on SQLite: FTS5 also indexes each listing's seller as a term of its
-- `facets` column ('s' and the seller's id after U+E000, as migration `search_facet_terms`
-- writes the other filters), so words searched among one seller's listings are one FTS5 query
-- that steps the seller's few postings against the words'. Before, FTS5 yielded every match of
-- the words newest first and each was looked up in `listings` for its seller: at 1M listings
-- `q=size&seller_id=5` (a word in every listing, a seller of 50) looked up all 1,000,000,
-- 270–490 ms a page (PostgreSQL reads the seller's listings by its index).
DROP VIEW listings_fts_content;
CREATE VIEW listings_fts_content AS
SELECT -id AS fts_id, id, title, description, replace(coalesce(category, ''), '-', ' ') AS category,
    char(57344) || 'p' || (SELECT CASE WHEN count(*) = 0 THEN 'u' ELSE printf('%02d', count(*) - 1)
                                  END FROM search_price_bounds b WHERE b.bound <= price_cents)
    || coalesce(' ' || char(57344) || 't' || category_top, '')
    || coalesce(' ' || char(57344) || 'c' || replace(category, '-', ''), '')
    || coalesce(' ' || char(57344) || 'k' || replace(condition, '_', ''), '')
    || ' ' || char(57344) || 's' || seller_id AS facets
FROM listings;

-- The server never moves a listing to another seller; a write in plain SQL may.
DROP TRIGGER listings_fts_unindex;
DROP TRIGGER listings_fts_index;
CREATE TRIGGER listings_fts_unindex BEFORE UPDATE OF title, description, category, condition,
    price_cents, seller_id ON listings
WHEN old.title IS NOT new.title OR old.description IS NOT new.description
     OR old.category IS NOT new.category OR old.condition IS NOT new.condition
     OR old.seller_id IS NOT new.seller_id
     OR (SELECT count(*) FROM search_price_bounds WHERE bound <= old.price_cents)
        <> (SELECT count(*) FROM search_price_bounds WHERE bound <= new.price_cents)
BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, title, description, category, facets)
    SELECT 'delete', fts_id, title, description, category, facets
    FROM listings_fts_content WHERE id = old.id;
END;
CREATE TRIGGER listings_fts_index AFTER UPDATE OF title, description, category, condition,
    price_cents, seller_id ON listings
WHEN old.title IS NOT new.title OR old.description IS NOT new.description
     OR old.category IS NOT new.category OR old.condition IS NOT new.condition
     OR old.seller_id IS NOT new.seller_id
     OR (SELECT count(*) FROM search_price_bounds WHERE bound <= old.price_cents)
        <> (SELECT count(*) FROM search_price_bounds WHERE bound <= new.price_cents)
BEGIN
    INSERT INTO listings_fts (rowid, title, description, category, facets)
    SELECT fts_id, title, description, category, facets FROM listings_fts_content WHERE id = new.id;
END;

-- Every listing indexed anew, its seller's term with the others, then merged into one b-tree.
-- Written newest first, FTS5's rowids ascending: FTS5 writes out its pending postings
-- whenever a rowid comes lower than the last, and 'rebuild' reads the listings oldest first,
-- a b-tree per row (at 1M listings 48 s against 20).
INSERT INTO listings_fts (listings_fts) VALUES ('delete-all');
INSERT INTO listings_fts (rowid, title, description, category, facets)
SELECT fts_id, title, description, category, facets FROM listings_fts_content ORDER BY id DESC;
INSERT INTO listings_fts (listings_fts) VALUES ('optimize');
