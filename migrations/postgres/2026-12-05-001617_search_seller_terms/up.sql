-- SQLite only (its words index's seller terms); kept in step with the SQLite migrations.
SELECT 1;
