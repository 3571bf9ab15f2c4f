-- Agents enrolled with a registration key (PROTOCOL.md 3.1). The certificate itself is
-- returned to the agent once; the server keeps its fingerprint, serial and expiry.
CREATE TABLE agents (
    id                  text        PRIMARY KEY,
    account_id          text        NOT NULL REFERENCES accounts (id),
    registration_key_id text        NOT NULL REFERENCES registration_keys (id),
    product             text        NOT NULL CHECK (length(product) BETWEEN 1 AND 100),
    version             text        NOT NULL CHECK (length(version) BETWEEN 1 AND 50),
    site_name           text        NOT NULL CHECK (length(site_name) BETWEEN 1 AND 200),
    site_location       text        CHECK (length(site_location) <= 200),
    contact_email       text        NOT NULL CHECK (length(contact_email) BETWEEN 3 AND 254),
    state               text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'revoked')),
    security_mode       text        NOT NULL DEFAULT 'normal' CHECK (security_mode IN ('normal', 'lockdown')),
    cert_fingerprint    text        NOT NULL CHECK (cert_fingerprint ~ '^[0-9a-f]{64}$'),
    cert_serial         text        NOT NULL,
    cert_not_after      timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_contact_at     timestamptz
);
CREATE INDEX agents_account ON agents (account_id, id);
