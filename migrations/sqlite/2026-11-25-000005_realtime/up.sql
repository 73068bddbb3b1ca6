-- A user's notification inbox (price drops on liked listings, offers to likers).
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    read_at    TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, id);

-- Buyer–seller chat about a listing: one conversation per listing and buyer.
CREATE TABLE conversations (
    id                  INTEGER PRIMARY KEY NOT NULL,
    listing_id          BIGINT NOT NULL REFERENCES listings (id),
    buyer_id            BIGINT NOT NULL REFERENCES users (id),
    seller_id           BIGINT NOT NULL REFERENCES users (id),
    last_seq            BIGINT NOT NULL DEFAULT 0,
    last_message_id     BIGINT,
    buyer_last_read_id  BIGINT NOT NULL DEFAULT 0,
    seller_last_read_id BIGINT NOT NULL DEFAULT 0,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    UNIQUE (listing_id, buyer_id)
);
CREATE INDEX conversations_buyer ON conversations (buyer_id, updated_at);
CREATE INDEX conversations_seller ON conversations (seller_id, updated_at);

-- Messages: `seq` orders a conversation strictly; (sender, client_msg_id) makes sending
-- idempotent.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY NOT NULL,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    sender_id       BIGINT NOT NULL REFERENCES users (id),
    client_msg_id   TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    body            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, sender_id, client_msg_id)
);

-- Single-use, short-lived tickets for browsers' WebSocket upgrades (stored as SHA-256).
CREATE TABLE ws_tickets (
    id          INTEGER PRIMARY KEY NOT NULL,
    ticket_hash TEXT NOT NULL UNIQUE,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    session_id  BIGINT NOT NULL REFERENCES sessions (id),
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
