-- Pipelines (REQUIREMENTS.md R5, PROTOCOL.md 4.5): a transactional outbox written with each
-- upload, the derived meter reads and service events, and the sequence that orders the feeds.
-- No foreign keys to devices: their checks would lock device rows (in the pipeline's order)
-- that uploads update (in key order), and the two deadlocked under the agent benchmark.

-- The outbox: one row per (pipeline, upload), written in the upload's transaction. `devices`
-- holds what the step needs to find the upload's rows by key: [{"device_id","read_at"}].
-- Workers claim due rows with FOR UPDATE SKIP LOCKED; the step's writes and finished_at
-- commit together, so a crashed step is simply claimed again.
CREATE TABLE pipeline_jobs (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pipeline    text        NOT NULL CHECK (pipeline IN ('meter_reads', 'supplies', 'diagnostics')),
    upload_id   text        NOT NULL,  -- no foreign key, like the readings: uploads are history
    account_id  text        NOT NULL REFERENCES accounts (id),
    devices     jsonb       NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    run_after   timestamptz NOT NULL DEFAULT now(),
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    UNIQUE (pipeline, upload_id)
);
CREATE INDEX pipeline_jobs_due ON pipeline_jobs (run_after, id) WHERE finished_at IS NULL;

-- One row per device that a pipeline step ever locked: steps lock their devices' rows (in key
-- order, so steps cannot deadlock) so that two uploads of one device are judged one after
-- the other, never against the same stale previous read.
CREATE TABLE pipeline_device_locks (
    device_id text PRIMARY KEY
);

-- Feed order (4.5): items are inserted with seq NULL and numbered later, in commit order, by
-- one sequencer at a time (advisory lock), so a reader of `seq > cursor` never skips an item
-- that committed late.
CREATE SEQUENCE feed_seq;

-- R5.1: one read per (device, counter, read time); immutable once written.
CREATE TABLE meter_reads (
    id          text        PRIMARY KEY DEFAULT fleetcomm_new_id('mr_'),
    seq         bigint      UNIQUE,
    account_id  text        NOT NULL REFERENCES accounts (id),
    device_id   text        NOT NULL,
    serial      text        NOT NULL,
    counter     text        NOT NULL,
    value       bigint      NOT NULL,
    read_at     timestamptz NOT NULL,
    status      text        NOT NULL CHECK (status IN ('billable', 'rejected')),
    reason      text        CHECK (reason IN ('counter_decreased', 'implausible_increase')),
    upload_id   text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'billable') = (reason IS NULL)),
    UNIQUE (device_id, counter, read_at)
);
CREATE INDEX meter_reads_unsequenced ON meter_reads (created_at, id) WHERE seq IS NULL;

-- Events for service staff (R5.3, and rejected meter reads of R5.1). `source_key` names what
-- raised the event, so that a retried step raises it once.
CREATE TABLE service_events (
    id          text        PRIMARY KEY DEFAULT fleetcomm_new_id('se_'),
    seq         bigint      UNIQUE,
    source_key  text        NOT NULL UNIQUE,
    account_id  text        NOT NULL REFERENCES accounts (id),
    device_id   text        NOT NULL,
    kind        text        NOT NULL,
    code        text        NOT NULL,
    severity    text        NOT NULL,
    critical    boolean     NOT NULL DEFAULT false,
    detail      jsonb       NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_events_unsequenced ON service_events (created_at, id) WHERE seq IS NULL;

-- R5.2: replenishment orders. A supply is (device, index, type, colorant); at most one order
-- per supply is open (opened or shipped) at a time, enforced by the partial unique index.
CREATE TABLE supply_orders (
    id             text        PRIMARY KEY DEFAULT fleetcomm_new_id('so_'),
    account_id     text        NOT NULL REFERENCES accounts (id),
    device_id      text        NOT NULL,
    supply_index   bigint      NOT NULL,
    supply_type    text        NOT NULL,
    colorant       text        NOT NULL,
    supply         jsonb       NOT NULL,  -- the supply as reported when the order opened
    opened_serial  text,
    lowest_percent double precision,      -- lowest level seen while open: a refill rises from it
    status         text        NOT NULL CHECK (status IN ('opened', 'shipped', 'fulfilled', 'cancelled')),
    opened_at      timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX supply_orders_open ON supply_orders (device_id, supply_index, supply_type, colorant)
    WHERE status IN ('opened', 'shipped');

-- The read time of the newest supply reading the pipeline judged, per supply: older
-- readings that arrive late change nothing.
CREATE TABLE supply_states (
    device_id    text        NOT NULL,
    supply_index bigint      NOT NULL,
    supply_type  text        NOT NULL,
    colorant     text        NOT NULL,
    read_at      timestamptz NOT NULL,
    PRIMARY KEY (device_id, supply_index, supply_type, colorant)
);

CREATE TABLE supply_order_events (
    id          text        PRIMARY KEY DEFAULT fleetcomm_new_id('soe_'),
    seq         bigint      UNIQUE,
    source_key  text        NOT NULL UNIQUE,
    order_id    text        NOT NULL REFERENCES supply_orders (id),
    account_id  text        NOT NULL REFERENCES accounts (id),
    device_id   text        NOT NULL,
    supply      jsonb       NOT NULL,
    event       text        NOT NULL CHECK (event IN ('opened', 'fulfilled', 'shipped', 'cancelled')),
    at          timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX supply_order_events_unsequenced ON supply_order_events (created_at, id) WHERE seq IS NULL;

-- R5.3: the alerts active on each device as of its newest report the pipeline judged.
CREATE TABLE device_alert_states (
    device_id    text        PRIMARY KEY,
    generated_at timestamptz NOT NULL,
    alerts       jsonb       NOT NULL  -- {"<code>": {"severity", "description", "at"}}
);
