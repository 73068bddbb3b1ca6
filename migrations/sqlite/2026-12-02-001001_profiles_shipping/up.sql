-- Public profiles: a short bio beside the display name.
ALTER TABLE users ADD COLUMN bio TEXT NOT NULL DEFAULT '';

-- A user's current shipping address (one per user). Orders copy it when they are made.
CREATE TABLE addresses (
    user_id     INTEGER PRIMARY KEY NOT NULL REFERENCES users (id),
    name        TEXT NOT NULL,
    line1       TEXT NOT NULL,
    line2       TEXT,
    city        TEXT NOT NULL,
    region      TEXT,
    postal_code TEXT NOT NULL,
    country     TEXT NOT NULL CHECK (length(country) = 2),
    updated_at  TIMESTAMP NOT NULL
);

-- The buyer's address as it was when the order was made (JSON; never changed by a later
-- edit of the address), and the parcel's carrier and tracking number once shipped.
ALTER TABLE orders ADD COLUMN ship_to TEXT;
ALTER TABLE orders ADD COLUMN carrier TEXT;
ALTER TABLE orders ADD COLUMN tracking_number TEXT;

-- When a rating becomes visible to everyone (domain::order::revealed_at): the window's close,
-- or earlier when the other side rates. Existing ratings: the default 7-day window.
ALTER TABLE ratings ADD COLUMN revealed_at TIMESTAMP;
UPDATE ratings SET revealed_at = COALESCE(
    (SELECT MAX(x.created_at) FROM ratings x WHERE x.order_id = ratings.order_id
        HAVING COUNT(*) >= 2),
    (SELECT strftime('%Y-%m-%d %H:%M:%f', o.completed_at, '+7 days') FROM orders o
        WHERE o.id = ratings.order_id),
    strftime('%Y-%m-%d %H:%M:%f', ratings.created_at, '+7 days')
);

-- A profile's figures are index range reads, never scans of the user's rows:
-- revealed ratings (count and average from the index alone),
CREATE INDEX ratings_ratee_revealed ON ratings (ratee_id, revealed_at, stars);
-- the ratings page (newest first),
CREATE INDEX ratings_ratee ON ratings (ratee_id, id);
-- items sold (completed orders' quantities from the index alone),
CREATE INDEX orders_seller_status ON orders (seller_id, status, quantity);
-- and a buyer's paid orders still waiting for an address (filled when one is added).
CREATE INDEX orders_buyer_unaddressed ON orders (buyer_id, id)
    WHERE status = 'paid' AND ship_to IS NULL;
