-- Operator API tokens. Only a SHA-256 digest of the token is stored: the token itself
-- is printed once by `fleetcomm token create` and never kept.
CREATE TABLE operator_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_sha256 bytea       NOT NULL UNIQUE CHECK (octet_length(token_sha256) = 32),
    name         text        NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    role         text        NOT NULL CHECK (role IN ('admin', 'account_manager', 'auditor', 'consumer')),
    account_ids  text[]      NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
