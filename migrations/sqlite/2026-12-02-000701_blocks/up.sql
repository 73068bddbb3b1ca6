-- A user's blocks: between two users where either blocked the other, no new conversation,
-- message, offer, counter or purchase. The pair is unique; lookups go both ways.
CREATE TABLE blocks (
    id         INTEGER PRIMARY KEY NOT NULL,
    blocker_id BIGINT NOT NULL REFERENCES users (id),
    blocked_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id, blocker_id);
CREATE INDEX blocks_blocker ON blocks (blocker_id, id);

-- The chat filter: what both parties see is `body`; when contact details were masked the
-- message as written is kept in `original_body` (for moderators) and `flags` lists why
-- (comma-separated, e.g. 'contact_details'; empty when nothing was flagged).
ALTER TABLE messages ADD COLUMN flags TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN original_body TEXT;

-- The open offers between two users, found when one blocks the other.
CREATE INDEX offers_open_between ON offers (buyer_id, seller_id) WHERE status = 'open';
