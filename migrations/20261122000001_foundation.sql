-- The foundation: tenants, API keys, the job queue and the worker registry.
--
-- The queue is demandflow's own (not apalis-postgres'): one row per job, written three times in
-- its life (insert, claim, finish), with durable backoff in `run_at`, a lease renewed by the
-- holder's heartbeat, and `attempt` doubling as the fencing token of the current lease.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- the first characters of the key, shown so people can tell keys apart
    prefix        text NOT NULL,
    -- sha256 of the whole key; keys are 256-bit random, so a fast hash is enough
    secret_hash   bytea NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE jobs (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind              text NOT NULL,
    args              jsonb NOT NULL,
    -- available: waiting for run_at (shown as `scheduled` while run_at is in the future)
    -- failed:    an attempt failed and a retry waits for run_at
    state             text NOT NULL DEFAULT 'available'
                      CHECK (state IN ('available', 'running', 'failed', 'succeeded', 'dead', 'cancelled')),
    priority          smallint NOT NULL DEFAULT 0,
    -- attempts started so far; the claim that starts attempt n holds lease epoch n
    attempt           integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts      integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    run_at            timestamptz NOT NULL DEFAULT now(),
    timeout_ms        integer CHECK (timeout_ms > 0),
    idempotency_key   text CHECK (length(idempotency_key) <= 200),
    correlation_id    text,
    result            jsonb,
    -- every attempt's error: [{"attempt": n, "at": "...", "error": "..."}]
    errors            jsonb NOT NULL DEFAULT '[]',
    locked_by         text,
    lease_expires_at  timestamptz,
    cancel_requested  boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    CONSTRAINT jobs_tenant_idempotency_key UNIQUE (tenant_id, idempotency_key)
);
-- what a worker claims next
CREATE INDEX jobs_fetch ON jobs (kind, priority DESC, run_at) WHERE state IN ('available', 'failed');
-- leases to renew or rescue (few rows: only what runs right now)
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE state = 'running';
-- listing, newest first (ids are UUIDv7, so they sort by creation time)
CREATE INDEX jobs_tenant_id ON jobs (tenant_id, id DESC);
-- retention
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('succeeded', 'dead', 'cancelled');

CREATE TABLE workers (
    id                 text PRIMARY KEY,
    host               text NOT NULL,
    pid                integer NOT NULL,
    kinds              text[] NOT NULL,
    started_at         timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    in_flight          integer NOT NULL DEFAULT 0,
    stopped_at         timestamptz
);
