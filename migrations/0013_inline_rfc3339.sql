-- fleetcomm_rfc3339 is declared STABLE, like the to_char it wraps, so that the planner
-- inlines it. Declared IMMUTABLE (0004), a body more volatile than its declaration keeps it
-- from being inlined: every statement that used it set up and ran a SQL function per row.
-- That was 7 % of PostgreSQL's CPU in the poll + result benchmark, four calls per action
-- delivered and answered (`perf` on `fleetcomm-poll-bench --phases action`: `fmgr_sql`).
-- No index or generated column uses it, so nothing needs IMMUTABLE.
CREATE OR REPLACE FUNCTION fleetcomm_rfc3339(t timestamptz) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;
