-- PostgreSQL only (the check's row lock); kept in step with the PostgreSQL migrations.
SELECT 1;
