-- The price a liker last saw: the listing's price when they liked it, then the price of their
-- last price-drop alert. A drop alerts them once it is far enough below this, so several small
-- drops alert once their total is enough.
ALTER TABLE likes ADD COLUMN seen_price_cents BIGINT;
UPDATE likes SET seen_price_cents = (SELECT price_cents FROM listings WHERE listings.id = likes.listing_id);
