DROP INDEX listings_search_fine_eras;
DROP FUNCTION search_fine_era_query(tsquery, BIGINT, BIGINT);
DROP FUNCTION search_fine_eras(BIGINT, tsvector);
