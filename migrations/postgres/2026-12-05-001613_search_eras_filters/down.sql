DROP INDEX listings_search_eras;
CREATE INDEX listings_search_eras ON listings USING GIN (search_eras(id, search_vector))
  WITH (fastupdate = off);
DROP FUNCTION search_eras(BIGINT, tsvector, TEXT, TEXT);
