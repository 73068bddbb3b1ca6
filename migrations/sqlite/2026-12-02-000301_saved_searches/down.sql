DROP TABLE saved_search_pending;
DROP TABLE saved_search_alerts;
DROP TRIGGER saved_searches_fts_delete;
DROP TRIGGER saved_searches_fts_insert;
DROP TABLE saved_searches_fts;
DROP TABLE saved_searches;
