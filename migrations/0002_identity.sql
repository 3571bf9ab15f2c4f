-- Accounts, registration keys and devices (PROTOCOL.md sections 2, 3.2 and 4).
-- Public ids are a type prefix and 20 random hex digits: unguessable, stable, short.
CREATE FUNCTION fleetcomm_new_id(prefix text) RETURNS text LANGUAGE sql VOLATILE AS
$$ SELECT prefix || substr(replace(gen_random_uuid()::text, '-', ''), 1, 20) $$;

CREATE TABLE accounts (
    id                      text        PRIMARY KEY DEFAULT fleetcomm_new_id('ac_'),
    name                    text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    meter_billing           boolean     NOT NULL DEFAULT false,
    supplies_contract       boolean     NOT NULL DEFAULT false,
    remote_software_updates boolean     NOT NULL DEFAULT false,
    debug_data_consent      boolean     NOT NULL DEFAULT false,
    job_data_consent        boolean     NOT NULL DEFAULT false,
    supply_low_percent      integer     NOT NULL DEFAULT 20 CHECK (supply_low_percent BETWEEN 0 AND 100),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

-- Only a digest of the secret is kept. Secrets carry 256 random bits, so a fast digest
-- leaves nothing to brute-force; lookups are by digest, never by the secret.
CREATE TABLE registration_keys (
    id          text        PRIMARY KEY DEFAULT fleetcomm_new_id('rk_'),
    account_id  text        NOT NULL REFERENCES accounts (id),
    key_sha256  bytea       NOT NULL UNIQUE CHECK (octet_length(key_sha256) = 32),
    expires_at  timestamptz,
    max_uses    integer     CHECK (max_uses > 0),
    uses        integer     NOT NULL DEFAULT 0 CHECK (uses >= 0),
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registration_keys_account ON registration_keys (account_id);

-- A device is (manufacturer, serial) everywhere; manufacturer_key is the manufacturer
-- compared case-insensitively after trimming (PROTOCOL.md section 5, "names").
CREATE TABLE devices (
    id                  text        PRIMARY KEY DEFAULT fleetcomm_new_id('dv_'),
    account_id          text        REFERENCES accounts (id),
    manufacturer        text        NOT NULL CHECK (length(manufacturer) BETWEEN 1 AND 100),
    manufacturer_key    text        NOT NULL GENERATED ALWAYS AS (lower(btrim(manufacturer))) STORED,
    serial              text        NOT NULL CHECK (length(serial) BETWEEN 1 AND 128),
    model               text        CHECK (length(model) <= 200),
    firmware            text        CHECK (length(firmware) <= 200),
    mac                 text        CHECK (length(mac) <= 64),
    state               text        NOT NULL CHECK (state IN ('active', 'pending', 'revoked')),
    cert_fingerprint    text        CHECK (cert_fingerprint ~ '^[0-9a-f]{64}$'),
    registered_at       timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- pending devices belong to no account yet; active ones always do
    CHECK (state <> 'active' OR account_id IS NOT NULL),
    UNIQUE (manufacturer_key, serial)
);
CREATE INDEX devices_account_state ON devices (account_id, state, id);
CREATE INDEX devices_state ON devices (state, id);
CREATE INDEX devices_serial ON devices (serial);
