-- Reports from users, one open report per reporter and target; the moderators' queue reads
-- the open ones oldest first through reports_queue.
CREATE TABLE reports (
    id              BIGSERIAL PRIMARY KEY,
    reporter_id     BIGINT NOT NULL REFERENCES users (id),
    target_type     TEXT NOT NULL CHECK (target_type IN ('listing', 'user', 'message')),
    target_id       BIGINT NOT NULL,
    reason          TEXT NOT NULL CHECK (reason IN ('prohibited_item', 'counterfeit', 'scam',
                                                    'harassment', 'spam', 'other')),
    note            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    resolution      TEXT CHECK (resolution IN ('dismiss', 'remove_listing', 'remove_message',
                                               'suspend_user')),
    resolved_by     BIGINT REFERENCES users (id),
    resolved_at     TIMESTAMP,
    resolution_note TEXT,
    created_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX reports_one_open ON reports (reporter_id, target_type, target_id)
    WHERE status = 'open';
CREATE INDEX reports_queue ON reports (status, id);

-- A suspension: since when, until when (NULL: until lifted), and why. Not suspended when
-- suspended_at is NULL.
ALTER TABLE users ADD COLUMN suspended_at TIMESTAMP;
ALTER TABLE users ADD COLUMN suspended_until TIMESTAMP;
ALTER TABLE users ADD COLUMN suspension_reason TEXT;
