-- PostgreSQL only (its search_span function); kept in step with the PostgreSQL migrations.
SELECT 1;
