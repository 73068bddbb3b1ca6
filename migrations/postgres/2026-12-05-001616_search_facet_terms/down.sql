-- SQLite only (its words index's filter terms); kept in step with the SQLite migrations.
SELECT 1;
