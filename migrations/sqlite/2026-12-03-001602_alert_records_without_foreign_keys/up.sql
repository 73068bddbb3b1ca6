-- The alert ledger without its foreign keys (see the PostgreSQL migration of the same name):
-- SQLite cannot drop a constraint, so the table is made again.
CREATE TABLE saved_search_alerts_new (
    saved_search_id BIGINT NOT NULL,
    listing_id      BIGINT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (saved_search_id, listing_id)
);
INSERT INTO saved_search_alerts_new (saved_search_id, listing_id, created_at)
SELECT saved_search_id, listing_id, created_at FROM saved_search_alerts;
DROP TABLE saved_search_alerts;
ALTER TABLE saved_search_alerts_new RENAME TO saved_search_alerts;
