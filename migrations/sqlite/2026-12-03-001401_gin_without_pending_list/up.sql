-- PostgreSQL only (its GIN indexes' pending list); kept in step with the PostgreSQL migrations.
SELECT 1;
