-- Back to migration `search_seller_terms`' triggers; the sizes are FTS5's alone again.
DROP TRIGGER listings_fts_insert;
CREATE TRIGGER listings_fts_insert AFTER INSERT ON listings BEGIN
    INSERT INTO listings_fts (rowid, title, description, category, facets)
    SELECT fts_id, title, description, category, facets FROM listings_fts_content WHERE id = new.id;
END;

DROP TRIGGER listings_fts_index;
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

ALTER TABLE listings DROP COLUMN search_sizes;
