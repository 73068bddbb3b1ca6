DELETE FROM saved_search_alerts a
WHERE NOT EXISTS (SELECT 1 FROM saved_searches s WHERE s.id = a.saved_search_id);
ALTER TABLE saved_search_alerts
    DROP CONSTRAINT saved_search_alerts_pkey,
    ADD PRIMARY KEY (saved_search_id, listing_id);
