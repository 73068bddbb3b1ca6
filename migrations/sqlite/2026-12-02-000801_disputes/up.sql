-- Disputes: orders may be `disputed` (the buyer opened a dispute; nothing completes by itself)
-- and `refunded` (the seller refunded in full, or a moderator refunded the buyer).
-- SQLite cannot change a CHECK constraint: the table is rebuilt. Migrations run in a
-- transaction, where foreign keys cannot be turned off, so the checks are deferred to commit:
-- dropping orders counts the ratings left without their order, and inserting the rows back
-- into the new orders table counts them found again.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE orders_copy AS SELECT * FROM orders;
DROP TABLE orders;
CREATE TABLE orders (
    id               INTEGER PRIMARY KEY NOT NULL,
    listing_id       BIGINT NOT NULL REFERENCES listings (id),
    buyer_id         BIGINT NOT NULL REFERENCES users (id),
    seller_id        BIGINT NOT NULL REFERENCES users (id),
    offer_id         BIGINT REFERENCES offers (id),
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents > 0),
    total_cents      BIGINT NOT NULL CHECK (total_cents > 0),
    status           TEXT NOT NULL CHECK (status IN ('paid', 'shipped', 'completed', 'cancelled', 'disputed', 'refunded')),
    ship_by          TIMESTAMP NOT NULL,
    auto_complete_at TIMESTAMP,
    shipped_at       TIMESTAMP,
    completed_at     TIMESTAMP,
    cancelled_at     TIMESTAMP,
    version          BIGINT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
INSERT INTO orders SELECT * FROM orders_copy;
DROP TABLE orders_copy;
CREATE INDEX orders_buyer ON orders (buyer_id, id);
CREATE INDEX orders_seller ON orders (seller_id, id);
CREATE INDEX orders_listing ON orders (listing_id, status);
CREATE INDEX orders_auto_complete ON orders (auto_complete_at) WHERE status = 'shipped';

-- A buyer's dispute of an order (one per order): why, the dispute timer's deadline
-- (escalate_at) and when it fired, and how it ended. The timekeeper finds due timers through
-- disputes_due; the moderators' queue (escalated first, then oldest) reads disputes_queue.
CREATE TABLE disputes (
    id              INTEGER PRIMARY KEY NOT NULL,
    order_id        BIGINT NOT NULL UNIQUE REFERENCES orders (id),
    listing_id      BIGINT NOT NULL REFERENCES listings (id),
    buyer_id        BIGINT NOT NULL REFERENCES users (id),
    seller_id       BIGINT NOT NULL REFERENCES users (id),
    reason          TEXT NOT NULL CHECK (reason IN ('not_received', 'not_as_described', 'damaged')),
    note            TEXT NOT NULL,
    escalate_at     TIMESTAMP NOT NULL,
    escalated_at    TIMESTAMP,
    outcome         TEXT CHECK (outcome IN ('refund_buyer', 'release_seller', 'split')),
    buyer_cents     BIGINT CHECK (buyer_cents >= 0),
    seller_cents    BIGINT CHECK (seller_cents >= 0),
    fee_cents       BIGINT CHECK (fee_cents >= 0),
    resolved_by     BIGINT REFERENCES users (id),
    resolution_note TEXT,
    resolved_at     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    CHECK ((resolved_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX disputes_due ON disputes (escalate_at)
    WHERE resolved_at IS NULL AND escalated_at IS NULL;
CREATE INDEX disputes_queue ON disputes ((escalated_at IS NULL), id) WHERE resolved_at IS NULL;
