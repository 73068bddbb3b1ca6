-- Saved searches and their alerts. A search is indexed by its anchor (domain/saved_search.rs):
-- the words of one required clause (a tsvector made by the database, GIN-indexed, so a new
-- listing finds the searches sharing a word with it in one query) or one key (category,
-- condition, or '*').
CREATE TABLE saved_searches (
    id              BIGSERIAL PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    name            TEXT,
    query_text      TEXT,
    category        TEXT,
    condition       TEXT,
    min_price_cents BIGINT,
    max_price_cents BIGINT,
    anchor_key      TEXT,
    anchor_words    TEXT,
    anchor_vector   tsvector GENERATED ALWAYS AS (
        to_tsvector('bazaar_search'::regconfig, coalesce(anchor_words, ''))
    ) STORED,
    -- The words as the listing search renders them for to_tsquery, and parsed once here.
    match_text      TEXT,
    match_query     tsquery GENERATED ALWAYS AS (
        CASE WHEN match_text IS NULL THEN NULL
             ELSE to_tsquery('bazaar_search'::regconfig, match_text) END
    ) STORED,
    created_at      TIMESTAMP NOT NULL,
    CHECK ((anchor_key IS NULL) <> (anchor_words IS NULL)),
    CHECK ((query_text IS NULL) = (match_text IS NULL))
);
CREATE INDEX saved_searches_user ON saved_searches (user_id, id);
CREATE INDEX saved_searches_anchor_key ON saved_searches (anchor_key) WHERE anchor_key IS NOT NULL;
CREATE INDEX saved_searches_anchor_words ON saved_searches USING GIN (anchor_vector);

-- At most one alert per saved search and listing, whichever process matches it.
CREATE TABLE saved_search_alerts (
    saved_search_id BIGINT NOT NULL REFERENCES saved_searches (id) ON DELETE CASCADE,
    listing_id      BIGINT NOT NULL REFERENCES listings (id),
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (saved_search_id, listing_id)
);

-- Listings waiting to be matched, written in the transaction that made them visible or
-- dropped their price (old_price_cents), deleted by the transaction that alerts for them.
CREATE TABLE saved_search_pending (
    id              BIGSERIAL PRIMARY KEY,
    listing_id      BIGINT NOT NULL REFERENCES listings (id),
    old_price_cents BIGINT,
    created_at      TIMESTAMP NOT NULL
);
