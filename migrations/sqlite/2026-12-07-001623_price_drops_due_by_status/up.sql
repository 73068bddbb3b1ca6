-- The timekeeper's due price drops (active listings whose next drop has passed) by status,
-- then the next drop: SQLite's planner, with no statistics, took the status index for the
-- status the query names and sorted every active listing by its next drop (0.7 s a tick at a
-- million listings) rather than read the partial index of the next drop alone.
DROP INDEX listings_next_price_drop;
CREATE INDEX listings_price_drops_due ON listings (status, next_price_drop_at)
    WHERE next_price_drop_at IS NOT NULL;
