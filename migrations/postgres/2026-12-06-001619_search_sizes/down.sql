-- SQLite only (its listings' sizes for bm25); kept in step with the SQLite migrations.
SELECT 1;
