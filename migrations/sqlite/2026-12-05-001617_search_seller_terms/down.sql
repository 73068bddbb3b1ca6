-- Back to migration `search_facet_terms`' view and triggers, the index rebuilt without sellers.
DROP VIEW listings_fts_content;
CREATE VIEW listings_fts_content AS
SELECT -id AS fts_id, id, title, description, replace(coalesce(category, ''), '-', ' ') AS category,
    char(57344) || 'p' || (SELECT CASE WHEN count(*) = 0 THEN 'u' ELSE printf('%02d', count(*) - 1)
                                  END FROM search_price_bounds b WHERE b.bound <= price_cents)
    || coalesce(' ' || char(57344) || 't' || category_top, '')
    || coalesce(' ' || char(57344) || 'c' || replace(category, '-', ''), '')
    || coalesce(' ' || char(57344) || 'k' || replace(condition, '_', ''), '') AS facets
FROM listings;
DROP TRIGGER listings_fts_unindex;
DROP TRIGGER listings_fts_index;
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
INSERT INTO listings_fts (listings_fts) VALUES ('delete-all');
INSERT INTO listings_fts (rowid, title, description, category, facets)
SELECT fts_id, title, description, category, facets FROM listings_fts_content ORDER BY id DESC;
INSERT INTO listings_fts (listings_fts) VALUES ('optimize');
