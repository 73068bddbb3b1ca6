-- A user's avatar: the stored keys of its two square variants (240 and 640 px), or none.
ALTER TABLE users ADD COLUMN avatar_small_key TEXT;
ALTER TABLE users ADD COLUMN avatar_large_key TEXT;

-- The media sweep asks which of a batch of keys an avatar names: index reads, not scans.
CREATE INDEX users_avatar_small_key ON users (avatar_small_key);
CREATE INDEX users_avatar_large_key ON users (avatar_large_key);
