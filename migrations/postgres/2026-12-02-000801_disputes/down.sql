DROP TABLE disputes;
UPDATE orders SET status = CASE WHEN shipped_at IS NULL THEN 'paid' ELSE 'shipped' END
    WHERE status = 'disputed';
UPDATE orders SET status = 'cancelled', cancelled_at = updated_at WHERE status = 'refunded';
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('paid', 'shipped', 'completed', 'cancelled'));
