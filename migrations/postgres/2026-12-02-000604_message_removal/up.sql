-- Messages a moderator removed: the message's body is replaced for both parties, and the
-- original is kept here, for moderators.
CREATE TABLE removed_messages (
    message_id    BIGINT PRIMARY KEY REFERENCES messages (id),
    original_body TEXT NOT NULL,
    removed_by    BIGINT NOT NULL REFERENCES users (id),
    note          TEXT NOT NULL,
    removed_at    TIMESTAMP NOT NULL
);
