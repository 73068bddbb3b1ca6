DROP INDEX offers_open_between;
ALTER TABLE messages DROP COLUMN original_body;
ALTER TABLE messages DROP COLUMN flags;
DROP TABLE blocks;
