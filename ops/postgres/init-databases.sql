-- Runs once, when the postgres container starts on an empty data volume
-- (/docker-entrypoint-initdb.d). One database per service, all owned by the
-- application role `kongtun`, so each service's Alembic migrations can create
-- its tables in the public schema (PostgreSQL 15+ no longer lets any role do that).
CREATE ROLE kongtun WITH LOGIN PASSWORD 'kongtun';

CREATE DATABASE kongtun_funds OWNER kongtun ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE kongtun_projects OWNER kongtun ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE kongtun_gateway OWNER kongtun ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE kongtun_notifications OWNER kongtun ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE kongtun_reporting OWNER kongtun ENCODING 'UTF8' TEMPLATE template0;
