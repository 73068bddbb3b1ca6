UPDATE listings SET status = 'closed' WHERE status = 'removed';
ALTER TABLE listings DROP CONSTRAINT listings_status_check;
ALTER TABLE listings ADD CONSTRAINT listings_status_check
    CHECK (status IN ('draft', 'active', 'sold_out', 'closed'));
