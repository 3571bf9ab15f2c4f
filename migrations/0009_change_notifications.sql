-- Every instance keeps "nothing deliverable for client X" answers in memory
-- (server/empty_poll_cache.*) and forgets them when told on channel fleetcomm_actions.
-- Triggers send the notification, so every way a row becomes deliverable is covered,
-- whichever code path (or hand-written SQL) makes the change. NOTIFY is transactional:
-- listeners hear it at commit, never for a rolled-back change, and one transaction's
-- identical payloads are sent once.

-- Payload: the client id (dv_/ag_). A queued row (new, authorised, or any other way back
-- to queued) and a delivered row whose lease was moved into the past are deliverable.
CREATE FUNCTION fleetcomm_notify_action_target() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fleetcomm_actions', NEW.target_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER actions_deliverable_notify
    AFTER INSERT OR UPDATE ON actions FOR EACH ROW
    WHEN (NEW.state = 'queued' OR (NEW.state = 'delivered' AND NEW.lease_until <= now()))
    EXECUTE FUNCTION fleetcomm_notify_action_target();

-- Payload: the client id. A client that turns an action type back on makes its queued
-- rows of that type deliverable; a change of what identifies it (state, account,
-- certificate, lockdown) makes the instances' identity caches (server/identity_cache.*)
-- forget it sooner than their lifetime.
CREATE FUNCTION fleetcomm_notify_client() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fleetcomm_actions', NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER devices_notify
    AFTER UPDATE OF disabled_actions, state, account_id, cert_fingerprint ON devices FOR EACH ROW
    WHEN (OLD.disabled_actions IS DISTINCT FROM NEW.disabled_actions OR OLD.state IS DISTINCT FROM NEW.state
          OR OLD.account_id IS DISTINCT FROM NEW.account_id
          OR OLD.cert_fingerprint IS DISTINCT FROM NEW.cert_fingerprint)
    EXECUTE FUNCTION fleetcomm_notify_client();

CREATE TRIGGER agents_notify
    AFTER UPDATE OF disabled_actions, state, account_id, security_mode ON agents FOR EACH ROW
    WHEN (OLD.disabled_actions IS DISTINCT FROM NEW.disabled_actions OR OLD.state IS DISTINCT FROM NEW.state
          OR OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.security_mode IS DISTINCT FROM NEW.security_mode)
    EXECUTE FUNCTION fleetcomm_notify_client();

-- Payload: the account id (ac_). A cached empty answer carries the account's poll interval.
CREATE TRIGGER accounts_poll_interval_notify
    AFTER UPDATE OF poll_interval_s ON accounts FOR EACH ROW
    WHEN (OLD.poll_interval_s IS DISTINCT FROM NEW.poll_interval_s)
    EXECUTE FUNCTION fleetcomm_notify_client();

-- The poll statement asks for the earliest lease end among a client's delivered actions
-- (how long an empty answer may be reused); without this, that walked the client's whole
-- queue in actions_deliverable.
CREATE INDEX actions_leased ON actions (target_id, lease_until) WHERE state = 'delivered';
