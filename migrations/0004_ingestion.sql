-- Ingestion (PROTOCOL.md 3.3 and 5): uploads with their idempotency key, the original
-- archives, the latest snapshot of each device, and the time series the pipelines read.
-- Time series are partitioned by month so that retention drops partitions, never rows.

-- Monthly range partitions of `parent` covering [first_month, last_month]; existing ones are
-- kept. Each table also has a DEFAULT partition for times outside the prepared months (a
-- device with a wrong clock must not fail an upload); the maintenance job keeps months ahead.
CREATE FUNCTION fleetcomm_ensure_month_partitions(parent text, first_month date, last_month date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month date := date_trunc('month', first_month)::date;
    created integer := 0;
    name text;
BEGIN
    WHILE month <= last_month LOOP
        name := parent || '_' || to_char(month, 'YYYYMM');
        IF to_regclass(name) IS NULL THEN
            -- Bounds are written with an explicit UTC offset: the session's TimeZone must not move them.
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           name, parent, to_char(month, 'YYYY-MM-DD') || ' 00:00:00+00',
                           to_char((month + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00');
            created := created + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$;

-- Drops the monthly partitions of `parent` that end before `cutoff`; returns how many.
CREATE FUNCTION fleetcomm_drop_month_partitions_before(parent text, cutoff timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = parent AND c.relname ~ ('^' || parent || '_[0-9]{6}$')
    LOOP
        IF (to_date(right(part.relname, 6), 'YYYYMM') + interval '1 month') <= cutoff THEN
            EXECUTE format('DROP TABLE %I', part.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$;

ALTER TABLE devices
    ADD COLUMN device_class     text   CHECK (device_class IN ('office', 'production', 'other')),
    ADD COLUMN disabled_actions text[] NOT NULL DEFAULT '{}',
    ADD COLUMN last_upload_at   timestamptz;
-- Device-listener requests find their device by the certificate it registered with.
CREATE INDEX devices_cert_fingerprint ON devices (cert_fingerprint) WHERE cert_fingerprint IS NOT NULL;

ALTER TABLE agents
    ADD COLUMN disabled_actions text[] NOT NULL DEFAULT '{}',
    ADD COLUMN host             jsonb,
    ADD COLUMN last_upload_at   timestamptz;

-- One row per stored report. (sender, report id) is the idempotency key: a unique
-- constraint, so that two identical uploads racing store one report.
CREATE TABLE uploads (
    id              text        PRIMARY KEY DEFAULT fleetcomm_new_id('up_'),
    sender_kind     text        NOT NULL CHECK (sender_kind IN ('device', 'agent')),
    sender_id       text        NOT NULL,
    account_id      text        NOT NULL REFERENCES accounts (id),
    report_id       uuid        NOT NULL,
    content_sha256  bytea       NOT NULL CHECK (octet_length(content_sha256) = 32),
    generated_at    timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    zip_bytes       integer     NOT NULL,
    report_bytes    bigint      NOT NULL,
    device_count    integer     NOT NULL,
    answer          jsonb,      -- the first answer, replayed to duplicates
    UNIQUE (sender_kind, sender_id, report_id)
);
CREATE INDEX uploads_sender_received ON uploads (sender_id, received_at DESC);

-- Which devices an upload carried (upload history per device, 4.2).
CREATE TABLE upload_devices (
    upload_id   text        NOT NULL REFERENCES uploads (id),
    device_id   text        NOT NULL REFERENCES devices (id),
    received_at timestamptz NOT NULL,
    PRIMARY KEY (device_id, received_at, upload_id)
);

-- The archives as received, for reprocessing; retention drops whole months.
CREATE TABLE raw_uploads (
    upload_id   text        NOT NULL,
    received_at timestamptz NOT NULL,
    zip         bytea       NOT NULL,
    PRIMARY KEY (upload_id, received_at)
) PARTITION BY RANGE (received_at);
CREATE TABLE raw_uploads_default PARTITION OF raw_uploads DEFAULT;

-- The latest state of each device, replaced only by a report generated later.
CREATE TABLE device_snapshots (
    device_id    text        PRIMARY KEY REFERENCES devices (id),
    upload_id    text        NOT NULL,
    generated_at timestamptz NOT NULL,
    identity     jsonb,
    modules      jsonb       NOT NULL DEFAULT '[]',
    network      jsonb,
    properties   jsonb       NOT NULL DEFAULT '{}',
    status       jsonb,
    supplies     jsonb       NOT NULL DEFAULT '[]',
    usage        jsonb       NOT NULL DEFAULT '[]'
);

-- Fault history: each fault once; only the newest 40 per device are kept.
CREATE TABLE device_faults (
    device_id   text        NOT NULL REFERENCES devices (id),
    at          timestamptz NOT NULL,  -- '-infinity' when the device gave no time
    code        text        NOT NULL,
    component   text,
    description text,
    upload_id   text        NOT NULL,
    PRIMARY KEY (device_id, at, code)
);

-- One reading per (device, counter, read time): the same counters from the device and from
-- an agent, or in a retried upload, are one reading (R5.1).
CREATE TABLE counter_readings (
    device_id text        NOT NULL,
    counter   text        NOT NULL,
    read_at   timestamptz NOT NULL,
    value     bigint      NOT NULL CHECK (value >= 0),
    reset_at  timestamptz,
    upload_id text        NOT NULL,
    PRIMARY KEY (device_id, counter, read_at)
) PARTITION BY RANGE (read_at);
CREATE TABLE counter_readings_default PARTITION OF counter_readings DEFAULT;

CREATE TABLE supply_readings (
    device_id    text        NOT NULL,
    supply_index bigint      NOT NULL,
    read_at      timestamptz NOT NULL,
    type         text,
    colorant     text,
    description  text,
    part_number  text,
    serial       text,
    unit         text,
    capacity     bigint,
    level        bigint,
    state        text,
    upload_id    text        NOT NULL,
    PRIMARY KEY (device_id, supply_index, read_at)
) PARTITION BY RANGE (read_at);
CREATE TABLE supply_readings_default PARTITION OF supply_readings DEFAULT;

CREATE TABLE usage_readings (
    device_id text        NOT NULL,
    read_at   timestamptz NOT NULL,
    items     jsonb       NOT NULL,
    upload_id text        NOT NULL,
    PRIMARY KEY (device_id, read_at)
) PARTITION BY RANGE (read_at);
CREATE TABLE usage_readings_default PARTITION OF usage_readings DEFAULT;

-- Personal data (3.3): written only for accounts with job-data consent.
CREATE TABLE job_log_entries (
    device_id   text        NOT NULL,
    received_at timestamptz NOT NULL,
    upload_id   text        NOT NULL,
    job         jsonb       NOT NULL
) PARTITION BY RANGE (received_at);
CREATE TABLE job_log_entries_default PARTITION OF job_log_entries DEFAULT;
CREATE INDEX job_log_entries_device ON job_log_entries (device_id, received_at);

CREATE TABLE policy_events (
    agent_id    text        NOT NULL,
    received_at timestamptz NOT NULL,
    upload_id   text        NOT NULL,
    event       jsonb       NOT NULL
) PARTITION BY RANGE (received_at);
CREATE TABLE policy_events_default PARTITION OF policy_events DEFAULT;
CREATE INDEX policy_events_agent ON policy_events (agent_id, received_at);

-- Engineering logs (3.6): stored only with debug-data consent.
CREATE TABLE diagnostics (
    id          text        PRIMARY KEY DEFAULT fleetcomm_new_id('dg_'),
    sender_kind text        NOT NULL CHECK (sender_kind IN ('device', 'agent')),
    sender_id   text        NOT NULL,
    account_id  text        NOT NULL REFERENCES accounts (id),
    action_id   text,
    received_at timestamptz NOT NULL DEFAULT now(),
    zip         bytea       NOT NULL
);
CREATE INDEX diagnostics_sender ON diagnostics (sender_id, received_at);

SELECT fleetcomm_ensure_month_partitions(t, (now() - interval '1 month')::date, (now() + interval '3 months')::date)
FROM unnest(ARRAY['raw_uploads', 'counter_readings', 'supply_readings', 'usage_readings',
                  'job_log_entries', 'policy_events']) AS t;

-- RFC 3339 in UTC, the API's time format, for documents assembled in SQL.
CREATE FUNCTION fleetcomm_rfc3339(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;
