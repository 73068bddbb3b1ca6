ALTER TABLE users DROP COLUMN suspension_reason;
ALTER TABLE users DROP COLUMN suspended_until;
ALTER TABLE users DROP COLUMN suspended_at;
DROP INDEX reports_queue;
DROP INDEX reports_one_open;
DROP TABLE reports;
