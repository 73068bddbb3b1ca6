-- Search and browse (issue 12).

-- Categories are the fixed tree of domain/category.rs: free text from before becomes 'other'.
UPDATE listings SET category = 'other'
WHERE category IS NOT NULL AND category NOT IN (
    'beauty',
    'beauty-fragrance',
    'beauty-makeup',
    'beauty-skincare',
    'collectibles',
    'collectibles-antiques',
    'collectibles-art',
    'collectibles-cards',
    'collectibles-coins',
    'electronics',
    'electronics-audio',
    'electronics-cameras',
    'electronics-computers',
    'electronics-gaming',
    'electronics-phones',
    'electronics-tv',
    'fashion',
    'fashion-bags',
    'fashion-jewellery',
    'fashion-men',
    'fashion-shoes',
    'fashion-women',
    'home',
    'home-appliances',
    'home-decor',
    'home-furniture',
    'home-garden',
    'home-kitchen',
    'home-tools',
    'instruments',
    'instruments-drums',
    'instruments-guitars',
    'instruments-keyboards',
    'kids',
    'kids-clothing',
    'kids-furniture',
    'kids-strollers',
    'kids-toys',
    'media',
    'media-boardgames',
    'media-books',
    'media-film',
    'media-music',
    'other',
    'pets',
    'pets-aquariums',
    'pets-supplies',
    'sports',
    'sports-bikes',
    'sports-camping',
    'sports-fitness',
    'sports-water',
    'sports-winter',
    'vehicles',
    'vehicles-cars',
    'vehicles-motorcycles',
    'vehicles-parts');

-- The top-level category, derived from the slug ('electronics-phones' -> 'electronics').
ALTER TABLE listings ADD COLUMN category_top TEXT GENERATED ALWAYS AS (
    CASE WHEN instr(category, '-') > 0 THEN substr(category, 1, instr(category, '-') - 1)
         ELSE category END
) VIRTUAL;

-- The search index: FTS5 over the listings table (external content), kept by triggers on
-- every write, however it is made. Porter stemming, diacritics folded, ranked with bm25.
CREATE VIRTUAL TABLE listings_fts USING fts5(
    title, description, category,
    content = 'listings', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER listings_fts_insert AFTER INSERT ON listings BEGIN
    INSERT INTO listings_fts (rowid, title, description, category)
    VALUES (new.id, new.title, new.description, replace(coalesce(new.category, ''), '-', ' '));
END;
CREATE TRIGGER listings_fts_delete AFTER DELETE ON listings BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, title, description, category)
    VALUES ('delete', old.id, old.title, old.description, replace(coalesce(old.category, ''), '-', ' '));
END;
-- Every listing write sets every column (prices, stock, likes too): re-index only when the text
-- actually changed.
CREATE TRIGGER listings_fts_update AFTER UPDATE OF title, description, category ON listings
WHEN old.title IS NOT new.title OR old.description IS NOT new.description
     OR old.category IS NOT new.category
BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, title, description, category)
    VALUES ('delete', old.id, old.title, old.description, replace(coalesce(old.category, ''), '-', ' '));
    INSERT INTO listings_fts (rowid, title, description, category)
    VALUES (new.id, new.title, new.description, replace(coalesce(new.category, ''), '-', ' '));
END;
INSERT INTO listings_fts (rowid, title, description, category)
    SELECT id, title, description, replace(coalesce(category, ''), '-', ' ') FROM listings;

-- Every filter and sort of GET /listings walks an index in the page's order.
CREATE INDEX listings_status_likes ON listings (status, like_count, id);
CREATE INDEX listings_category_id ON listings (status, category, id);
CREATE INDEX listings_category_price ON listings (status, category, price_cents, id);
CREATE INDEX listings_category_likes ON listings (status, category, like_count, id);
CREATE INDEX listings_category_top_id ON listings (status, category_top, id);
CREATE INDEX listings_category_top_price ON listings (status, category_top, price_cents, id);
CREATE INDEX listings_category_top_likes ON listings (status, category_top, like_count, id);
CREATE INDEX listings_condition_id ON listings (status, condition, id);
CREATE INDEX listings_condition_price ON listings (status, condition, price_cents, id);
CREATE INDEX listings_condition_likes ON listings (status, condition, like_count, id);
CREATE INDEX listings_seller_status_id ON listings (seller_id, status, id);
CREATE INDEX listings_seller_price ON listings (seller_id, status, price_cents, id);
CREATE INDEX listings_seller_likes ON listings (seller_id, status, like_count, id);
