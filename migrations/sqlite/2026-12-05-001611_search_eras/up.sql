-- PostgreSQL only (its era index: FTS5 already yields a word's matches newest first); kept
-- in step with the PostgreSQL migrations.
SELECT 1;
