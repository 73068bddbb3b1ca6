-- SQLite only (FTS5's prefix indexes); kept in step with the SQLite migrations.
SELECT 1;
