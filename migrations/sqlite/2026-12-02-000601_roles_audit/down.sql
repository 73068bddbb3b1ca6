DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP INDEX audit_log_target;
DROP TABLE audit_log;
ALTER TABLE users DROP COLUMN role;
