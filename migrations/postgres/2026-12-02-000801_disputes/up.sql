-- Disputes: orders may be `disputed` (the buyer opened a dispute; nothing completes by itself)
-- and `refunded` (the seller refunded in full, or a moderator refunded the buyer).
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('paid', 'shipped', 'completed', 'cancelled', 'disputed', 'refunded'));

-- A buyer's dispute of an order (one per order): why, the dispute timer's deadline
-- (escalate_at) and when it fired, and how it ended. The timekeeper finds due timers through
-- disputes_due; the moderators' queue (escalated first, then oldest) reads disputes_queue.
CREATE TABLE disputes (
    id              BIGSERIAL PRIMARY KEY,
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
