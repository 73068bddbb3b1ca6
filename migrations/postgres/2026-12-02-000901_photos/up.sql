-- A listing's photos, in the seller's order (`position`, 0-based). Each names three stored
-- variants by content-hash key (`<sha256>.jpg|png`); the files live in the object store, and
-- a file no row names any more is deleted by the media sweep after a grace period. Written
-- only by the listing's actor.
CREATE TABLE photos (
    id         BIGSERIAL PRIMARY KEY,
    listing_id BIGINT NOT NULL REFERENCES listings (id),
    position   INTEGER NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    full_key   TEXT NOT NULL,
    medium_key TEXT NOT NULL,
    thumb_key  TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- A listing's photos in order (one query for a whole page of listings).
CREATE INDEX photos_listing ON photos (listing_id, position, id);
-- The sweep asks whether any row still names a stored file.
CREATE INDEX photos_full_key ON photos (full_key);
CREATE INDEX photos_medium_key ON photos (medium_key);
CREATE INDEX photos_thumb_key ON photos (thumb_key);
