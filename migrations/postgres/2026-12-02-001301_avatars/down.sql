DROP INDEX users_avatar_large_key;
DROP INDEX users_avatar_small_key;
ALTER TABLE users DROP COLUMN avatar_large_key;
ALTER TABLE users DROP COLUMN avatar_small_key;
