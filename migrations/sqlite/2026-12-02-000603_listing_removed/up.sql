-- Listings a moderator removed: status `removed`. SQLite cannot alter a CHECK constraint, and
-- rebuilding `listings` would mean re-creating its search triggers and indexes; loosening a
-- CHECK does not change what is stored, so the table's definition is edited in place, as
-- SQLite documents (lang_altertable.html, "other kinds of table schema changes"):
-- writable_schema=RESET reloads this connection's schema, and the table created and dropped
-- after it bumps the schema cookie, so every other connection reloads it too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''sold_out'', ''closed'')', '''sold_out'', ''closed'', ''removed'')')
 WHERE type = 'table' AND name = 'listings';
PRAGMA writable_schema = RESET;
CREATE TABLE schema_cookie_bump (x INTEGER);
DROP TABLE schema_cookie_bump;
