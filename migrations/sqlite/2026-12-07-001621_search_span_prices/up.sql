-- PostgreSQL only (its search_span); kept in step with the PostgreSQL migrations.
SELECT 1;
