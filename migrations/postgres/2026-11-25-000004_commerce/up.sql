-- The last seq of every topic. Taking the next seq locks the topic's row until commit, so
-- writers of one topic (a user's topic is written by many listings) are serialised.
CREATE TABLE topic_seqs (
    topic    TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL CHECK (last_seq >= 0)
);
INSERT INTO topic_seqs (topic, last_seq) SELECT topic, MAX(seq) FROM events GROUP BY topic;

-- The balances of each user's two ledger accounts (wallet:{id}, escrow:{id}), kept with the
-- entries in the same transaction. The CHECKs make a negative balance impossible.
CREATE TABLE wallets (
    user_id         BIGINT PRIMARY KEY REFERENCES users (id),
    available_cents BIGINT NOT NULL DEFAULT 0 CHECK (available_cents >= 0),
    escrow_cents    BIGINT NOT NULL DEFAULT 0 CHECK (escrow_cents >= 0)
);
INSERT INTO wallets (user_id) SELECT id FROM users;

-- Double-entry ledger: append-only; each transaction's entries sum to zero.
CREATE TABLE ledger_transactions (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL,
    order_id   BIGINT,
    reference  TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE ledger_entries (
    id             BIGSERIAL PRIMARY KEY,
    transaction_id BIGINT NOT NULL REFERENCES ledger_transactions (id),
    account        TEXT NOT NULL,
    amount_cents   BIGINT NOT NULL CHECK (amount_cents <> 0),
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account, id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

CREATE TABLE offers (
    id           BIGSERIAL PRIMARY KEY,
    listing_id   BIGINT NOT NULL REFERENCES listings (id),
    buyer_id     BIGINT NOT NULL REFERENCES users (id),
    seller_id    BIGINT NOT NULL REFERENCES users (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    quantity     BIGINT NOT NULL CHECK (quantity > 0),
    status       TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'withdrawn', 'expired')),
    turn         TEXT NOT NULL CHECK (turn IN ('seller', 'buyer')),
    round        BIGINT NOT NULL,
    reason       TEXT,
    history      TEXT NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX offers_one_open_per_buyer ON offers (listing_id, buyer_id) WHERE status = 'open';
CREATE INDEX offers_listing ON offers (listing_id, id);
CREATE INDEX offers_open_expiry ON offers (expires_at) WHERE status = 'open';

CREATE TABLE orders (
    id               BIGSERIAL PRIMARY KEY,
    listing_id       BIGINT NOT NULL REFERENCES listings (id),
    buyer_id         BIGINT NOT NULL REFERENCES users (id),
    seller_id        BIGINT NOT NULL REFERENCES users (id),
    offer_id         BIGINT REFERENCES offers (id),
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents > 0),
    total_cents      BIGINT NOT NULL CHECK (total_cents > 0),
    status           TEXT NOT NULL CHECK (status IN ('paid', 'shipped', 'completed', 'cancelled')),
    ship_by          TIMESTAMP NOT NULL,
    auto_complete_at TIMESTAMP,
    shipped_at       TIMESTAMP,
    completed_at     TIMESTAMP,
    cancelled_at     TIMESTAMP,
    version          BIGINT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX orders_buyer ON orders (buyer_id, id);
CREATE INDEX orders_seller ON orders (seller_id, id);
CREATE INDEX orders_listing ON orders (listing_id, status);
CREATE INDEX orders_auto_complete ON orders (auto_complete_at) WHERE status = 'shipped';

CREATE TABLE ratings (
    id         BIGSERIAL PRIMARY KEY,
    order_id   BIGINT NOT NULL REFERENCES orders (id),
    rater_id   BIGINT NOT NULL REFERENCES users (id),
    ratee_id   BIGINT NOT NULL REFERENCES users (id),
    stars      BIGINT NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment    TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (order_id, rater_id)
);

-- A seller's offer to everyone who likes a listing, open for a period.
CREATE TABLE liker_offers (
    id           BIGSERIAL PRIMARY KEY,
    listing_id   BIGINT NOT NULL REFERENCES listings (id),
    seller_id    BIGINT NOT NULL REFERENCES users (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE INDEX liker_offers_listing ON liker_offers (listing_id, expires_at);

-- Idempotency-Key: the first response to each (user, key), replayed to repeats.
CREATE TABLE idempotency_keys (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      BIGINT,
    body        TEXT,
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
