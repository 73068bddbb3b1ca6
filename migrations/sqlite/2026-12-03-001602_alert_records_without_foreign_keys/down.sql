CREATE TABLE saved_search_alerts_old (
    saved_search_id BIGINT NOT NULL REFERENCES saved_searches (id) ON DELETE CASCADE,
    listing_id      BIGINT NOT NULL REFERENCES listings (id),
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (saved_search_id, listing_id)
);
INSERT INTO saved_search_alerts_old (saved_search_id, listing_id, created_at)
SELECT a.saved_search_id, a.listing_id, a.created_at FROM saved_search_alerts a
WHERE EXISTS (SELECT 1 FROM saved_searches s WHERE s.id = a.saved_search_id);
DROP TABLE saved_search_alerts;
ALTER TABLE saved_search_alerts_old RENAME TO saved_search_alerts;
