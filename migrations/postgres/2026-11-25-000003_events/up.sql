-- The outbox and the history: every event is written in the transaction of the change it
-- describes, with the next seq of its topic. Resuming clients read from here.
CREATE TABLE events (
    id         BIGSERIAL PRIMARY KEY,
    topic      TEXT NOT NULL,
    seq        BIGINT NOT NULL CHECK (seq > 0),
    event_type TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (topic, seq)
);
