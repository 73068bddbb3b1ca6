-- Roles: every user is a plain user until an operator grants more (`bazaar admin grant`).
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user'
    CHECK (role IN ('user', 'moderator', 'admin'));

-- The moderators' audit log: appended to in the transaction of the action it records, never
-- changed. `actor_id` NULL is the operator at the command line.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY NOT NULL,
    actor_id    BIGINT REFERENCES users (id),
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   BIGINT NOT NULL,
    note        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
