-- Audit log (PROTOCOL.md 4.4 and 4.6): one entry per request on the device and operator
-- listeners, allowed or refused, one per failed TLS handshake; operator changes carry their
-- before and after. Append-only (grants and a trigger) and hash-chained by seals
-- (docs/architecture.md, "Audit log").

CREATE SEQUENCE audit_entries_seq;

CREATE TABLE audit_entries (
    seq              bigint      NOT NULL DEFAULT nextval('audit_entries_seq'),
    -- The inserting transaction: the sealer seals only rows of transactions that have all
    -- finished (xid below its snapshot's xmin), so a sealed range never gains a row.
    xid              xid8        NOT NULL DEFAULT pg_current_xact_id(),
    at               timestamptz NOT NULL,
    listener         text        NOT NULL,  -- device | operator
    kind             text        NOT NULL,  -- request | tls_handshake
    request_id       text,                  -- as in X-Request-Id and the request log line
    identity_kind    text,                  -- device | agent | certificate | operator
    identity_id      text,
    cert_fingerprint text,
    account_id       text,
    method           text,
    path             text,                  -- bounded and escaped by the server
    status           integer,
    bytes_in         bigint,
    bytes_out        bigint,
    duration_ms      bigint,
    error_code       text,
    remote_address   text,                  -- never for lockdown agents
    user_agent       text,
    detail           text,                  -- handshake failure reason and certificate subject
    before           jsonb,                 -- operator changes
    after            jsonb
) PARTITION BY RANGE (at);
CREATE TABLE audit_entries_default PARTITION OF audit_entries DEFAULT;
CREATE INDEX audit_entries_seq_index ON audit_entries (seq);
CREATE INDEX audit_entries_chain ON audit_entries (xid, seq);
CREATE INDEX audit_entries_account ON audit_entries (account_id, seq) WHERE account_id IS NOT NULL;
CREATE INDEX audit_entries_identity ON audit_entries (identity_id, seq) WHERE identity_id IS NOT NULL;
SELECT fleetcomm_ensure_month_partitions('audit_entries', (now() - interval '1 month')::date,
                                         (now() + interval '3 months')::date);

-- Consecutive batches of entries in (xid, seq) order. hash = SHA-256(previous hash, id,
-- the entries' digests in order); the digests let verify name the entry that changed.
CREATE TABLE audit_seals (
    id            bigint      PRIMARY KEY,
    sealed_at     timestamptz NOT NULL DEFAULT now(),
    last_xid      xid8        NOT NULL,  -- the batch ends at (last_xid, last_seq), inclusive
    last_seq      bigint      NOT NULL,
    first_at      timestamptz NOT NULL,
    last_at       timestamptz NOT NULL,
    entry_seqs    bigint[]    NOT NULL,
    entry_digests bytea[]     NOT NULL,
    previous_hash bytea       NOT NULL,
    hash          bytea       NOT NULL
);

-- The canonical form of an entry, independent of the session's settings (time zone).
CREATE FUNCTION fleetcomm_audit_digest(e audit_entries) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(convert_to(jsonb_build_array(
        e.seq, e.xid::text, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.listener, e.kind,
        e.request_id, e.identity_kind, e.identity_id, e.cert_fingerprint, e.account_id, e.method, e.path,
        e.status, e.bytes_in, e.bytes_out, e.duration_ms, e.error_code, e.remote_address, e.user_agent,
        e.detail, e.before, e.after)::text, 'UTF8'))
$$;

CREATE FUNCTION fleetcomm_audit_seal_hash(previous bytea, id bigint, digests bytea[]) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(previous || convert_to(id::text, 'UTF8') ||
                  coalesce((SELECT string_agg(d, ''::bytea ORDER BY o) FROM unnest(digests) WITH ORDINALITY AS u(d, o)),
                           ''::bytea))
$$;

-- Retention drops whole partitions (DROP TABLE fires no row trigger); nothing else removes
-- or changes an entry or a seal. Superusers can still disable the trigger: that is what the
-- hash chain is for.
CREATE FUNCTION fleetcomm_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION fleetcomm_audit_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION fleetcomm_audit_append_only();
CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION fleetcomm_audit_append_only();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION fleetcomm_audit_append_only();

-- The application role (the one that runs the migrations) keeps INSERT and SELECT only.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries, audit_seals FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries, audit_seals FROM CURRENT_USER;
