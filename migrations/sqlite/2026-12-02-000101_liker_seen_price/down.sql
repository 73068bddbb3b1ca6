ALTER TABLE likes DROP COLUMN seen_price_cents;
