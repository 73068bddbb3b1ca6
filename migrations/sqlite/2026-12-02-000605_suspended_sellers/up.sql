-- Search leaves out the listings of suspended sellers while the suspension holds: only
-- suspended users are in this index, so the anti-join looks at them alone.
CREATE INDEX users_suspended ON users (id, suspended_until) WHERE suspended_at IS NOT NULL;
