DROP TABLE saved_search_pending;
DROP TABLE saved_search_alerts;
DROP TABLE saved_searches;
