-- PostgreSQL only (its era index); kept in step with the PostgreSQL migrations.
SELECT 1;
