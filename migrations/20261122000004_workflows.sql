-- Workflows: versioned DAGs of job steps, and their runs.
--
-- A run pins the version it started with. Its steps' jobs are ordinary rows of `jobs` carrying
-- `run_id`, `step` and (for a `for_each` step) `item`; when the completer records a step job's
-- outcome it advances the run in the same transaction (successors enqueued, run status set), so
-- a crash between "step done" and "successors enqueued" cannot happen.

CREATE TABLE workflows (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    latest_version  integer NOT NULL DEFAULT 1 CHECK (latest_version >= 1),
    -- a disabled workflow keeps its history but starts no new run
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflows_tenant ON workflows (tenant_id, id DESC);

-- Immutable: a new definition is a new version.
CREATE TABLE workflow_versions (
    workflow_id  uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version >= 1),
    definition   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE workflow_runs (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    workflow_id  uuid NOT NULL,
    version      integer NOT NULL,
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    input        jsonb NOT NULL,
    -- the request id of the trigger, given to every job of the run
    correlation_id text,
    -- the step that failed the run, and why
    failed_step  text,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    FOREIGN KEY (workflow_id, version) REFERENCES workflow_versions (workflow_id, version)
        ON DELETE CASCADE
);
CREATE INDEX workflow_runs_tenant ON workflow_runs (tenant_id, id DESC);
CREATE INDEX workflow_runs_workflow ON workflow_runs (workflow_id, id DESC);

-- One row per step of a run, created with the run.
CREATE TABLE workflow_run_steps (
    run_id       uuid NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
    step         text NOT NULL,
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
    -- jobs enqueued for the step (the items of a for_each; 1 otherwise)
    items        integer,
    -- the job's result, or the list of the items' results in item order
    output       jsonb,
    error        text,
    started_at   timestamptz,
    finished_at  timestamptz,
    PRIMARY KEY (run_id, step)
);

ALTER TABLE jobs
    ADD COLUMN run_id uuid REFERENCES workflow_runs (id) ON DELETE SET NULL,
    ADD COLUMN step   text,
    ADD COLUMN item   integer;
CREATE INDEX jobs_run ON jobs (run_id, step) WHERE run_id IS NOT NULL;
