-- Workflow triggers (cron schedules, inbound webhooks) and run events.
--
-- A schedule is claimed by whichever worker's scheduler sees it due first (`FOR UPDATE SKIP
-- LOCKED`); it records each fire in `workflow_schedule_fires`, whose primary key makes a second
-- run for the same (schedule, fire time) impossible even if two claimers raced, and starts the run
-- in the same transaction.

CREATE TABLE workflow_schedules (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    workflow_id   uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    -- standard cron (5 fields, or 6 with seconds first), read in `time_zone`
    cron          text NOT NULL CHECK (length(cron) BETWEEN 1 AND 200),
    time_zone     text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    -- what happens to fire times missed while no scheduler ran
    catch_up      text NOT NULL CHECK (catch_up IN ('skip', 'once', 'all')),
    -- the input of every run it starts
    input         jsonb NOT NULL DEFAULT '{}',
    enabled       boolean NOT NULL DEFAULT true,
    -- the next fire time not yet handled; null when the expression never fires again
    next_fire_at  timestamptz,
    last_fire_at  timestamptz,
    last_run_id   uuid,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_schedules_due ON workflow_schedules (next_fire_at) WHERE enabled;
CREATE INDEX workflow_schedules_workflow ON workflow_schedules (workflow_id, id);

-- One row per fire: the unique key is what makes "exactly once per tick" hold by construction.
CREATE TABLE workflow_schedule_fires (
    schedule_id  uuid NOT NULL REFERENCES workflow_schedules (id) ON DELETE CASCADE,
    fire_at      timestamptz NOT NULL,
    run_id       uuid REFERENCES workflow_runs (id) ON DELETE SET NULL,
    -- why no run was started (e.g. the workflow is disabled)
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, fire_at)
);

-- At most one inbound webhook per workflow. The secret is kept as is: verifying an HMAC needs
-- it. It is shown once (creation, rotation) and never again; after a rotation the previous one
-- keeps working until `previous_expires_at`.
CREATE TABLE workflow_webhooks (
    id                   uuid PRIMARY KEY,
    tenant_id            uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    workflow_id          uuid NOT NULL UNIQUE REFERENCES workflows (id) ON DELETE CASCADE,
    secret               text NOT NULL,
    previous_secret      text,
    previous_expires_at  timestamptz,
    last_used_at         timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    rotated_at           timestamptz
);

-- How a run was triggered: {"type": "api" | "schedule" | "webhook", ...}.
ALTER TABLE workflow_runs ADD COLUMN trigger jsonb NOT NULL DEFAULT '{"type": "api"}';

-- What happened to a run, in order. Written in the transactions that change its steps and
-- status, always while the run's row is locked, so within one run the ids are committed in
-- increasing order and a reader resuming after id N misses nothing.
CREATE TABLE workflow_run_events (
    id      bigserial PRIMARY KEY,
    run_id  uuid NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
    type    text NOT NULL,
    step    text,
    data    jsonb NOT NULL DEFAULT '{}',
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_run_events_run ON workflow_run_events (run_id, id);
