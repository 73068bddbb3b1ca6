DROP INDEX listings_price_drops_due;
CREATE INDEX listings_next_price_drop ON listings (next_price_drop_at)
    WHERE next_price_drop_at IS NOT NULL;
