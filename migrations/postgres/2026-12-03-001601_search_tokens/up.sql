-- SQLite only (its prefix vocabulary; PostgreSQL spells prefixes out from `search_words`);
-- kept in step with the SQLite migrations.
SELECT 1;
