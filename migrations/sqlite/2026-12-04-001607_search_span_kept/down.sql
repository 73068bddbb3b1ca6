-- PostgreSQL only (search_span keeps its estimate a minute); kept in step with the PostgreSQL
-- migrations.
SELECT 1;
