-- Every certificate fleetcomm issued to an agent (PROTOCOL.md 3.1): renewal keeps the old
-- certificate valid until it expires, so the agents row (the newest one) is not the whole
-- story when someone asks which certificates could still be in use.
CREATE TABLE agent_certificates (
    agent_id    text        NOT NULL REFERENCES agents (id),
    fingerprint text        NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    serial      text        NOT NULL,
    not_after   timestamptz NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    reason      text        NOT NULL CHECK (reason IN ('enrolment', 'renewal')),
    PRIMARY KEY (agent_id, fingerprint)
);

INSERT INTO agent_certificates (agent_id, fingerprint, serial, not_after, issued_at, reason)
SELECT id, cert_fingerprint, cert_serial, cert_not_after, created_at, 'enrolment' FROM agents;

-- When an operator revoked the agent; null while it is active.
ALTER TABLE agents ADD COLUMN revoked_at timestamptz;
