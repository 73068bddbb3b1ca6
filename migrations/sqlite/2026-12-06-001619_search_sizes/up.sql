-- Each listing's length in tokens per column of the words index, as FTS5 stores it for bm25
-- (its `listings_fts_docsize` blob), copied onto the listing's own row. A relevance search
-- reads each candidate's row anyway (its status and seller); the sizes there spare it a
-- lookup per candidate in FTS5's sizes table: at 1M listings 70 µs of the ~350 that finding
-- and sizing the 200 candidates of "leather jacket" took. The triggers that index a listing
-- copy its sizes once FTS5 has them; a row without them (NULL) is still ranked, FTS5 reading
-- its sizes itself.
ALTER TABLE listings ADD COLUMN search_sizes BLOB;

DROP TRIGGER listings_fts_insert;
CREATE TRIGGER listings_fts_insert AFTER INSERT ON listings BEGIN
    INSERT INTO listings_fts (rowid, title, description, category, facets)
    SELECT fts_id, title, description, category, facets FROM listings_fts_content WHERE id = new.id;
    UPDATE listings SET search_sizes = (SELECT sz FROM listings_fts_docsize WHERE id = -new.id)
    WHERE id = new.id;
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
    UPDATE listings SET search_sizes = (SELECT sz FROM listings_fts_docsize WHERE id = -new.id)
    WHERE id = new.id;
END;

UPDATE listings SET search_sizes = (SELECT sz FROM listings_fts_docsize WHERE id = -listings.id);
