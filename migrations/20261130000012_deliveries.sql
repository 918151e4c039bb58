-- Deliveries (issue 13): what the pipeline finds reaches people and systems, once.
--
-- events        the outbox: written in the transaction of the change it describes
-- destinations  where alerts go (webhook, slack, discord, telegram, email); credentials sealed
-- alert_rules   when to tell which destinations, how (at once or a digest), how often
-- subscriptions customers' endpoints for event types, signed per Standard Webhooks
-- deliveries    one message to one place, unique per delivery key: at most once, ever
-- delivery_attempts  every try, with what the other side answered
-- digest_items  matches gathered for a rule's digest window

CREATE TABLE events (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type         text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
    -- what the event is about, e.g. `signal:<id>`: with a rule and a destination it makes the
    -- delivery key, so the same subject never alerts one destination twice for one rule
    subject      text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    data         jsonb NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz
);
-- what the dispatcher claims next (few rows: only what is not yet dispatched)
CREATE INDEX events_pending ON events (occurred_at) WHERE dispatched_at IS NULL;
CREATE INDEX events_tenant_occurred ON events (tenant_id, occurred_at DESC);

CREATE TABLE destinations (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind                text NOT NULL CHECK (kind IN ('webhook', 'slack', 'discord', 'telegram', 'email')),
    -- what may be shown (chat id, SMTP host, addresses, the webhook's URL)
    config              jsonb NOT NULL,
    -- tokens, webhook URLs with tokens, passwords, signing secrets: sealed with the operator key
    credentials         text NOT NULL,
    -- sends a minute across the fleet (the service's documented pace by default)
    rate_limit_per_min  integer NOT NULL CHECK (rate_limit_per_min BETWEEN 1 AND 6000),
    enabled             boolean NOT NULL DEFAULT true,
    disabled_reason     text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT destinations_tenant_name UNIQUE (tenant_id, name)
);

CREATE TABLE alert_rules (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    enabled               boolean NOT NULL DEFAULT true,
    event                 text NOT NULL,
    -- the filter: a score at least this, a category among these
    min_score             smallint CHECK (min_score BETWEEN 0 AND 100),
    categories            text[] NOT NULL DEFAULT '{}',
    -- a template per destination kind ({"slack": "...", "email": "..."}); none: the default
    templates             jsonb NOT NULL DEFAULT '{}',
    -- 0: at once; otherwise matches are gathered for this many seconds into one message
    digest_secs           integer NOT NULL DEFAULT 0 CHECK (digest_secs BETWEEN 0 AND 604800),
    -- at most throttle_max messages per destination per throttle_secs (0: no throttle)
    throttle_max          integer NOT NULL DEFAULT 0 CHECK (throttle_max >= 0),
    throttle_secs         integer NOT NULL DEFAULT 0 CHECK (throttle_secs >= 0),
    -- quiet hours in a time zone: what matches then is sent when they end
    quiet_start           time,
    quiet_end             time,
    quiet_tz              text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_rules_tenant_name UNIQUE (tenant_id, name)
);
CREATE INDEX alert_rules_event ON alert_rules (tenant_id, event) WHERE enabled;

CREATE TABLE alert_rule_destinations (
    rule_id         uuid NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    destination_id  uuid NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, destination_id)
);
CREATE INDEX alert_rule_destinations_destination ON alert_rule_destinations (destination_id);

CREATE TABLE subscriptions (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url              text NOT NULL,
    description      text NOT NULL DEFAULT '',
    -- exact types (`lead.created`) or families (`lead.*`)
    event_types      text[] NOT NULL,
    -- the signing secrets (whsec_…, newest first), sealed
    secrets          text NOT NULL,
    enabled          boolean NOT NULL DEFAULT true,
    disabled_reason  text,
    -- since when every attempt has failed (cleared by any success); 5 days of it disables
    failing_since    timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id) WHERE enabled;

CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- `rule:<rule>:<destination>:<subject>`, `digest:<rule>:<destination>:<window>`,
    -- `sub:<subscription>:<event>`, `test:<id>`, `step:<run>:<step>:<item>:<destination>`
    delivery_key     text NOT NULL,
    event_id         uuid,
    event_type       text NOT NULL,
    subject          text NOT NULL,
    rule_id          uuid REFERENCES alert_rules (id) ON DELETE SET NULL,
    destination_id   uuid REFERENCES destinations (id) ON DELETE CASCADE,
    subscription_id  uuid REFERENCES subscriptions (id) ON DELETE CASCADE,
    -- the message's data (the event's, or a digest's items)
    data             jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sent', 'confirmed', 'failed', 'dead', 'suppressed')),
    -- why it was suppressed (throttled) or is dead
    reason           text,
    attempts         integer NOT NULL DEFAULT 0,
    last_status      integer,
    -- the provider's message id, or our Message-ID: proof it went, and the guard against a
    -- second send after a lost answer
    receipt          text,
    -- the deliver job of the latest enqueue, and how many there were (redeliveries make more)
    job_id           uuid,
    enqueues         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    CONSTRAINT deliveries_once UNIQUE (tenant_id, delivery_key),
    CHECK ((destination_id IS NULL) <> (subscription_id IS NULL) OR state = 'dead')
);
CREATE INDEX deliveries_tenant_id ON deliveries (tenant_id, id DESC);
CREATE INDEX deliveries_destination ON deliveries (destination_id, id DESC) WHERE destination_id IS NOT NULL;
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, id DESC) WHERE subscription_id IS NOT NULL;
CREATE INDEX deliveries_rule_recent ON deliveries (rule_id, destination_id, created_at) WHERE rule_id IS NOT NULL;
CREATE INDEX deliveries_failed ON deliveries (tenant_id, updated_at) WHERE state IN ('failed', 'dead');

CREATE TABLE delivery_attempts (
    id            uuid PRIMARY KEY,
    delivery_id   uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    -- `delivered`, `rate_limited`, `gone`, `rejected`, `failed`
    outcome       text NOT NULL,
    status        integer,
    latency_ms    integer NOT NULL,
    -- the start of the answer (never a credential)
    excerpt       text NOT NULL DEFAULT ''
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempted_at);

CREATE TABLE digest_items (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    rule_id         uuid NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    destination_id  uuid NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    subject         text NOT NULL,
    window_end      timestamptz NOT NULL,
    data            jsonb NOT NULL,
    -- the digest that carried it (NULL while its window is open)
    delivery_id     uuid REFERENCES deliveries (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- a subject joins one digest of a rule and destination, once ever
    PRIMARY KEY (rule_id, destination_id, subject)
);
CREATE INDEX digest_items_due ON digest_items (window_end) WHERE delivery_id IS NULL;

-- job.dead and run.succeeded / run.failed are written by triggers: those states are reached on
-- several paths (the batched completion writer, the api, the workflow engine), and a trigger is
-- in the very transaction of each. A dead `deliver` job is not an event: a subscriber to job.*
-- whose endpoint is down would otherwise feed itself.
CREATE FUNCTION emit_job_dead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (id, tenant_id, type, subject, data)
    VALUES (gen_random_uuid(), NEW.tenant_id, 'job.dead', 'job:' || NEW.id,
            jsonb_build_object('job_id', NEW.id, 'kind', NEW.kind, 'attempts', NEW.attempt,
                               'error', NEW.errors -> -1 -> 'error'));
    PERFORM pg_notify('demandflow_events', '');
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_dead_event AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.state = 'dead' AND OLD.state <> 'dead' AND NEW.kind <> 'deliver')
    EXECUTE FUNCTION emit_job_dead();

CREATE FUNCTION emit_run_finished() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (id, tenant_id, type, subject, data)
    SELECT gen_random_uuid(), NEW.tenant_id, 'run.' || NEW.status, 'run:' || NEW.id,
           jsonb_build_object('run_id', NEW.id, 'workflow_id', NEW.workflow_id,
                              'workflow', w.name, 'status', NEW.status,
                              'failed_step', NEW.failed_step, 'error', NEW.error)
    FROM workflows w WHERE w.id = NEW.workflow_id;
    PERFORM pg_notify('demandflow_events', '');
    RETURN NULL;
END $$;
CREATE TRIGGER workflow_runs_finished_event AFTER UPDATE OF status ON workflow_runs
    FOR EACH ROW WHEN (NEW.status IN ('succeeded', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION emit_run_finished();
