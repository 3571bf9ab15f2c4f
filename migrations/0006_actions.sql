-- Remote management (PROTOCOL.md 3.4, 3.5, 4): per-client action queues with a full
-- history, and the software catalogue. (0005 is reserved for the agents work.)

-- How often the account's clients are told to poll (next_poll_s, jittered by the server).
ALTER TABLE accounts
    ADD COLUMN poll_interval_s integer NOT NULL DEFAULT 86400 CHECK (poll_interval_s BETWEEN 60 AND 604800);

-- One row per action. `seq` is the queue order (ids are random); target ids carry their
-- kind's prefix (dv_/ag_), so target_id alone selects one client's queue.
CREATE TABLE actions (
    id                 text        PRIMARY KEY DEFAULT fleetcomm_new_id('act_'),
    seq                bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    account_id         text        NOT NULL REFERENCES accounts (id),
    target_kind        text        NOT NULL CHECK (target_kind IN ('device', 'agent')),
    target_id          text        NOT NULL,
    type               text        NOT NULL CHECK (length(type) BETWEEN 1 AND 64),
    params             jsonb       NOT NULL DEFAULT '{}',
    state              text        NOT NULL CHECK (state IN ('awaiting_authorization', 'queued', 'delivered',
                                                             'in_progress', 'succeeded', 'failed', 'rejected',
                                                             'cancelled', 'expired')),
    queued_at          timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    -- delivered: hidden from polls until then; afterwards delivered again, same id
    lease_until        timestamptz,
    -- delivered/in_progress: the client must report a final status by then (or by expires_at,
    -- whichever is later), else the action ends `expired` with a reason
    result_deadline    timestamptz,
    deliveries         integer     NOT NULL DEFAULT 0,
    last_delivered_at  timestamptz,
    result             jsonb,
    authorized_by      text        CHECK (length(authorized_by) <= 200),
    authorization_ref  text        CHECK (length(authorization_ref) <= 200),
    authorized_at      timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- A poll: the deliverable actions of one client in queue order. Only open, undelivered or
-- leased rows are in it, so an empty poll reads an empty index range.
CREATE INDEX actions_deliverable ON actions (target_id, seq) WHERE state IN ('queued', 'delivered');
-- The expiry sweep over open actions.
CREATE INDEX actions_open_expiry ON actions (expires_at)
    WHERE state IN ('awaiting_authorization', 'queued', 'delivered', 'in_progress');
-- Operator lists (keyset on seq).
CREATE INDEX actions_account ON actions (account_id, seq);
CREATE INDEX actions_target ON actions (target_id, seq);

CREATE TABLE action_history (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action_id text        NOT NULL REFERENCES actions (id),
    state     text        NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    by        text        NOT NULL CHECK (length(by) <= 300),
    message   text        CHECK (length(message) <= 4096)
);
CREATE INDEX action_history_action ON action_history (action_id, id);

-- The software catalogue (3.5). Versions are compared numerically per dot-separated
-- component: the keys hold those numbers (trailing zeros dropped, so 1.2 = 1.2.0).
CREATE TABLE software_releases (
    id               text        PRIMARY KEY DEFAULT fleetcomm_new_id('sw_'),
    model            text        NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
    model_key        text        NOT NULL GENERATED ALWAYS AS (lower(btrim(model))) STORED,
    version          text        NOT NULL CHECK (length(version) BETWEEN 1 AND 100),
    version_key      bigint[]    NOT NULL,
    url              text        NOT NULL CHECK (url LIKE 'https://%' AND length(url) <= 2048),
    sha256           text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size             bigint      NOT NULL CHECK (size >= 0),
    min_firmware     text        CHECK (length(min_firmware) <= 100),
    min_firmware_key bigint[]    NOT NULL DEFAULT '{}',
    install_after    timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (model_key, version_key)
);
