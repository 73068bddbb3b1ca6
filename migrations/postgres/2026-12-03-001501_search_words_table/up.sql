-- SQLite only (its vocabulary table; PostgreSQL has had one since `search_words`); kept in
-- step with the SQLite migrations.
SELECT 1;
