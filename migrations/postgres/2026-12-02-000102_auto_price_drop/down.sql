DROP INDEX listings_next_price_drop;
ALTER TABLE listings DROP COLUMN next_price_drop_at;
ALTER TABLE listings DROP COLUMN auto_drop_floor_cents;
ALTER TABLE listings DROP COLUMN auto_drop_interval_secs;
ALTER TABLE listings DROP COLUMN auto_drop_percent;
