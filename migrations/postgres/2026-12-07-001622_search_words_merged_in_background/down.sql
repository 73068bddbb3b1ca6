-- SQLite only (its words index's merging); kept in step with the SQLite migrations.
SELECT 1;
