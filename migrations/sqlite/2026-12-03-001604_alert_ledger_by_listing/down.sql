CREATE TABLE saved_searches_old (
    id              INTEGER PRIMARY KEY NOT NULL,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    name            TEXT,
    query_text      TEXT,
    category        TEXT,
    condition       TEXT,
    min_price_cents BIGINT,
    max_price_cents BIGINT,
    anchor_key      TEXT,
    anchor_words    TEXT,
    match_text      TEXT,
    created_at      TIMESTAMP NOT NULL,
    CHECK ((anchor_key IS NULL) <> (anchor_words IS NULL)),
    CHECK ((query_text IS NULL) = (match_text IS NULL))
);
INSERT INTO saved_searches_old SELECT * FROM saved_searches;
DROP TABLE saved_searches;
ALTER TABLE saved_searches_old RENAME TO saved_searches;
CREATE INDEX saved_searches_user ON saved_searches (user_id, id);
CREATE INDEX saved_searches_anchor_key ON saved_searches (anchor_key) WHERE anchor_key IS NOT NULL;
CREATE TRIGGER saved_searches_fts_insert AFTER INSERT ON saved_searches
WHEN new.anchor_words IS NOT NULL BEGIN
    INSERT INTO saved_searches_fts (rowid, anchor_words) VALUES (new.id, new.anchor_words);
END;
CREATE TRIGGER saved_searches_fts_delete AFTER DELETE ON saved_searches
WHEN old.anchor_words IS NOT NULL BEGIN
    INSERT INTO saved_searches_fts (saved_searches_fts, rowid, anchor_words)
    VALUES ('delete', old.id, old.anchor_words);
END;

CREATE TABLE saved_search_alerts_old (
    saved_search_id BIGINT NOT NULL,
    listing_id      BIGINT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (saved_search_id, listing_id)
);
INSERT INTO saved_search_alerts_old (saved_search_id, listing_id, created_at)
SELECT a.saved_search_id, a.listing_id, a.created_at FROM saved_search_alerts a
WHERE EXISTS (SELECT 1 FROM saved_searches s WHERE s.id = a.saved_search_id);
DROP TABLE saved_search_alerts;
ALTER TABLE saved_search_alerts_old RENAME TO saved_search_alerts;
