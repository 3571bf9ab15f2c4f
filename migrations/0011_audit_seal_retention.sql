-- Seals leave with the entries they sealed. A seal keeps 40 bytes per entry (its seq and
-- digest): at 20,000 entries a second that is 69 GB a day, kept forever while retention
-- dropped the entries themselves. Seals are now partitioned by month of sealing and
-- dropped a month after the entries of that month (a seal is made after its entries, so
-- none of them outlives it). What was dropped is recorded in audit_trims: the last dropped
-- seal's id, end and hash, from which verify checks the first remaining seal and the
-- sealer continues when no seal remains.

CREATE TABLE audit_trims (
    id             bigint      PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    trimmed_at     timestamptz NOT NULL DEFAULT now(),
    last_seal_id   bigint      NOT NULL,
    last_xid       xid8        NOT NULL,
    last_seq       bigint      NOT NULL,
    last_hash      bytea       NOT NULL
);
CREATE TRIGGER audit_trims_append_only BEFORE UPDATE OR DELETE ON audit_trims
    FOR EACH ROW EXECUTE FUNCTION fleetcomm_audit_append_only();
CREATE TRIGGER audit_trims_no_truncate BEFORE TRUNCATE ON audit_trims
    FOR EACH STATEMENT EXECUTE FUNCTION fleetcomm_audit_append_only();

ALTER TABLE audit_seals RENAME TO audit_seals_unpartitioned;
ALTER TABLE audit_seals_unpartitioned RENAME CONSTRAINT audit_seals_pkey TO audit_seals_unpartitioned_pkey;
CREATE TABLE audit_seals (
    id            bigint      NOT NULL,  -- 1, 2, 3...: the sealer numbers them under a lock
    sealed_at     timestamptz NOT NULL DEFAULT now(),
    last_xid      xid8        NOT NULL,
    last_seq      bigint      NOT NULL,
    first_at      timestamptz NOT NULL,
    last_at       timestamptz NOT NULL,
    entry_seqs    bigint[]    NOT NULL,
    entry_digests bytea[]     NOT NULL,
    previous_hash bytea       NOT NULL,
    hash          bytea       NOT NULL,
    PRIMARY KEY (id, sealed_at)
) PARTITION BY RANGE (sealed_at);
-- The per-entry arrays hold random digests: TOAST would try to compress them on every seal
-- and fail. Set before the partitions are made, which take it from here.
ALTER TABLE audit_seals ALTER COLUMN entry_seqs SET STORAGE EXTERNAL,
                        ALTER COLUMN entry_digests SET STORAGE EXTERNAL;
CREATE TABLE audit_seals_default PARTITION OF audit_seals DEFAULT;
SELECT fleetcomm_ensure_month_partitions('audit_seals', (now() - interval '1 month')::date,
                                         (now() + interval '3 months')::date);
INSERT INTO audit_seals SELECT * FROM audit_seals_unpartitioned;
DROP TABLE audit_seals_unpartitioned;
CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION fleetcomm_audit_append_only();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION fleetcomm_audit_append_only();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_seals, audit_trims FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_seals, audit_trims FROM CURRENT_USER;

-- The newest seal, or when none is left the last one dropped: where the chain goes on.
CREATE FUNCTION fleetcomm_audit_chain_end(OUT id bigint, OUT last_xid xid8, OUT last_seq bigint, OUT hash bytea)
LANGUAGE sql STABLE AS $$
    SELECT * FROM (
        (SELECT id, last_xid, last_seq, hash FROM audit_seals ORDER BY id DESC LIMIT 1)
        UNION ALL
        (SELECT last_seal_id, last_xid, last_seq, last_hash FROM audit_trims ORDER BY id DESC LIMIT 1)
    ) ends ORDER BY id DESC LIMIT 1
$$;

-- The monthly partitions of `parent` (named parent_YYYYMM) that end by `cutoff`: one rule for
-- every retention drop.
CREATE FUNCTION fleetcomm_month_partitions_ending_by(parent text, cutoff timestamptz) RETURNS SETOF regclass
LANGUAGE sql STABLE AS $$
    SELECT c.oid::regclass FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname = parent AND c.relname ~ ('^' || parent || '_[0-9]{6}$')
      AND (to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month') <= cutoff
$$;

CREATE OR REPLACE FUNCTION fleetcomm_drop_month_partitions_before(parent text, cutoff timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part regclass;
    dropped integer := 0;
BEGIN
    FOR part IN SELECT fleetcomm_month_partitions_ending_by(parent, cutoff) LOOP
        EXECUTE format('DROP TABLE %s', part);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END $$;

-- Drops the monthly seal partitions that end before `cutoff`, after recording the last seal
-- they hold; returns how many partitions went (none when their seals are not the chain's
-- head).
CREATE FUNCTION fleetcomm_trim_audit_seals(cutoff timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    parts regclass[] := ARRAY(SELECT fleetcomm_month_partitions_ending_by('audit_seals', cutoff));
    last_dropped bigint;
BEGIN
    SELECT max(id) INTO last_dropped FROM audit_seals WHERE tableoid = ANY(parts::oid[]);
    IF last_dropped IS NOT NULL THEN
        -- Only a head of the chain goes: an older seal elsewhere (the DEFAULT partition, when
        -- the months were not prepared in time) would leave a hole that verify must report.
        IF EXISTS (SELECT FROM audit_seals WHERE id <= last_dropped AND NOT tableoid = ANY(parts::oid[])) THEN
            RETURN 0;
        END IF;
        INSERT INTO audit_trims (last_seal_id, last_xid, last_seq, last_hash)
        SELECT id, last_xid, last_seq, hash FROM audit_seals WHERE id = last_dropped;
    END IF;
    RETURN fleetcomm_drop_month_partitions_before('audit_seals', cutoff);
END $$;
