UPDATE listings SET status = 'closed' WHERE status = 'removed';
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''sold_out'', ''closed'', ''removed'')', '''sold_out'', ''closed'')')
 WHERE type = 'table' AND name = 'listings';
PRAGMA writable_schema = RESET;
CREATE TABLE schema_cookie_bump (x INTEGER);
DROP TABLE schema_cookie_bump;
