DROP INDEX listings_search_eras;
CREATE INDEX listings_search_eras ON listings
  USING GIN (search_eras(id, search_vector, category, condition)) WITH (fastupdate = off);
DROP FUNCTION search_eras(BIGINT, tsvector, TEXT, TEXT, BIGINT);
DROP FUNCTION search_price_bucket(BIGINT);
