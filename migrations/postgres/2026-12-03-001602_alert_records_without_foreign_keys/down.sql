DELETE FROM saved_search_alerts a
WHERE NOT EXISTS (SELECT 1 FROM saved_searches s WHERE s.id = a.saved_search_id);
ALTER TABLE saved_search_alerts
    ADD CONSTRAINT saved_search_alerts_saved_search_id_fkey
        FOREIGN KEY (saved_search_id) REFERENCES saved_searches (id) ON DELETE CASCADE,
    ADD CONSTRAINT saved_search_alerts_listing_id_fkey
        FOREIGN KEY (listing_id) REFERENCES listings (id);
