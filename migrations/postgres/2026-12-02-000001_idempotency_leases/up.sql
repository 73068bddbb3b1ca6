-- Crash-safe Idempotency-Keys: a claim is held under a lease by one token. The effect's
-- transaction writes the response only while its token still holds the key; a request that
-- finds the lease lapsed (its first request died) takes the key over with a new token.
-- Rows claimed before this migration have a lapsed lease: the next retry runs afresh.
ALTER TABLE idempotency_keys ADD COLUMN token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ADD COLUMN locked_until TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
