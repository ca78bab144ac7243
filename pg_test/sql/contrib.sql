-- The contrib modules the suites compare glassheap with (PostgreSQL's pageinspect,
-- pg_walinspect, pgstattuple, pg_visibility, amcheck).
CREATE EXTENSION pageinspect;
CREATE EXTENSION pg_walinspect;
CREATE EXTENSION pgstattuple;
CREATE EXTENSION pg_visibility;
CREATE EXTENSION amcheck;
