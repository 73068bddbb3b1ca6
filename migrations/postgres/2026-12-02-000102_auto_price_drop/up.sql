-- Scheduled price drops: the seller's schedule (all three set, or none) and the next drop's
-- deadline, which the timekeeper finds through the partial index.
ALTER TABLE listings ADD COLUMN auto_drop_percent BIGINT;
ALTER TABLE listings ADD COLUMN auto_drop_interval_secs BIGINT;
ALTER TABLE listings ADD COLUMN auto_drop_floor_cents BIGINT;
ALTER TABLE listings ADD COLUMN next_price_drop_at TIMESTAMP;
CREATE INDEX listings_next_price_drop ON listings (next_price_drop_at)
    WHERE next_price_drop_at IS NOT NULL;
