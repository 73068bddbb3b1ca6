DROP INDEX listings_search_eras;
DROP FUNCTION search_era_query(tsquery, BIGINT, BIGINT);
DROP FUNCTION search_eras(BIGINT, tsvector);
