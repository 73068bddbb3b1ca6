-- Saved searches and their alerts. A search is indexed by its anchor (domain/saved_search.rs):
-- the words of one required clause (in an FTS5 index with the listings' tokenizer, kept by
-- triggers, so a new listing finds the searches sharing a word with it in one query) or one
-- key (category, condition, or '*').
CREATE TABLE saved_searches (
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
    -- The words as the listing search renders them for FTS5 MATCH.
    match_text      TEXT,
    created_at      TIMESTAMP NOT NULL,
    CHECK ((anchor_key IS NULL) <> (anchor_words IS NULL)),
    CHECK ((query_text IS NULL) = (match_text IS NULL))
);
CREATE INDEX saved_searches_user ON saved_searches (user_id, id);
CREATE INDEX saved_searches_anchor_key ON saved_searches (anchor_key) WHERE anchor_key IS NOT NULL;
CREATE VIRTUAL TABLE saved_searches_fts USING fts5(
    anchor_words,
    content = 'saved_searches', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER saved_searches_fts_insert AFTER INSERT ON saved_searches
WHEN new.anchor_words IS NOT NULL BEGIN
    INSERT INTO saved_searches_fts (rowid, anchor_words) VALUES (new.id, new.anchor_words);
END;
CREATE TRIGGER saved_searches_fts_delete AFTER DELETE ON saved_searches
WHEN old.anchor_words IS NOT NULL BEGIN
    INSERT INTO saved_searches_fts (saved_searches_fts, rowid, anchor_words)
    VALUES ('delete', old.id, old.anchor_words);
END;

-- At most one alert per saved search and listing.
CREATE TABLE saved_search_alerts (
    saved_search_id BIGINT NOT NULL REFERENCES saved_searches (id) ON DELETE CASCADE,
    listing_id      BIGINT NOT NULL REFERENCES listings (id),
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (saved_search_id, listing_id)
);

-- Listings waiting to be matched, written in the transaction that made them visible or
-- dropped their price (old_price_cents), deleted by the transaction that alerts for them.
CREATE TABLE saved_search_pending (
    id              INTEGER PRIMARY KEY NOT NULL,
    listing_id      BIGINT NOT NULL REFERENCES listings (id),
    old_price_cents BIGINT,
    created_at      TIMESTAMP NOT NULL
);
