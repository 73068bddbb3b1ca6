-- Search and browse (issue 12). Needs the privilege to create the unaccent and pg_trgm
-- extensions (see docs/DEPLOYMENT.md).
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- English stemming with accents folded first: 'café' and 'cafe' are one lexeme.
CREATE TEXT SEARCH CONFIGURATION bazaar_search (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION bazaar_search
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;

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
ALTER TABLE listings ADD COLUMN category_top TEXT
    GENERATED ALWAYS AS (split_part(category, '-', 1)) STORED;

-- The search document, kept by the database: title (A) above description (B) and category (C).
-- to_tsvector(regconfig, text) is immutable, so the column is computed for every row however
-- it is written, including plain SQL bulk loads.
ALTER TABLE listings ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('bazaar_search'::regconfig, title), 'A') ||
    setweight(to_tsvector('bazaar_search'::regconfig, description), 'B') ||
    setweight(to_tsvector('bazaar_search'::regconfig,
                          translate(coalesce(category, ''), '-_', '  ')), 'C')
) STORED;
CREATE INDEX listings_search ON listings USING GIN (search_vector);

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
