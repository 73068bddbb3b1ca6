-- PostgreSQL only (its vocabulary sweep forgets a word in two sightings; SQLite's forgets in
-- its one writer, which no listing write runs beside); kept in step with the PostgreSQL
-- migrations.
SELECT 1;
