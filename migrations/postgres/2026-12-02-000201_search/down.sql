DROP INDEX listings_seller_likes;
DROP INDEX listings_seller_price;
DROP INDEX listings_seller_status_id;
DROP INDEX listings_condition_likes;
DROP INDEX listings_condition_price;
DROP INDEX listings_condition_id;
DROP INDEX listings_category_top_likes;
DROP INDEX listings_category_top_price;
DROP INDEX listings_category_top_id;
DROP INDEX listings_category_likes;
DROP INDEX listings_category_price;
DROP INDEX listings_category_id;
DROP INDEX listings_status_likes;
DROP INDEX listings_search;
ALTER TABLE listings DROP COLUMN search_vector;
ALTER TABLE listings DROP COLUMN category_top;
DROP TEXT SEARCH CONFIGURATION bazaar_search;
-- The extensions stay (other databases objects may use them); the category mapping to
-- 'other' cannot be undone.
