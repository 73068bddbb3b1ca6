CREATE TABLE listings (
    id                 BIGSERIAL PRIMARY KEY,
    seller_id          BIGINT NOT NULL REFERENCES users (id),
    title              TEXT NOT NULL,
    description        TEXT NOT NULL,
    category           TEXT,
    condition          TEXT,
    price_cents        BIGINT NOT NULL CHECK (price_cents > 0),
    currency           TEXT NOT NULL,
    quantity           BIGINT NOT NULL CHECK (quantity >= 0),
    status             TEXT NOT NULL CHECK (status IN ('draft', 'active', 'sold_out', 'closed')),
    like_count         BIGINT NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    auto_accept_cents  BIGINT,
    auto_decline_cents BIGINT,
    version            BIGINT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX listings_status_id ON listings (status, id);
CREATE INDEX listings_seller_id ON listings (seller_id, id);
CREATE INDEX listings_status_price ON listings (status, price_cents, id);

CREATE TABLE likes (
    id                 BIGSERIAL PRIMARY KEY,
    user_id            BIGINT NOT NULL REFERENCES users (id),
    listing_id         BIGINT NOT NULL REFERENCES listings (id),
    target_price_cents BIGINT,
    created_at         TIMESTAMP NOT NULL,
    UNIQUE (user_id, listing_id)
);
CREATE INDEX likes_listing_id ON likes (listing_id);
