ALTER TABLE idempotency_keys DROP COLUMN locked_until;
ALTER TABLE idempotency_keys DROP COLUMN token;
