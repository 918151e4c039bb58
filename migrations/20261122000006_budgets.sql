-- Budgets: money limits per tenant × provider × period, spent through reservations, every step
-- of which lands in the cost ledger; and parked jobs, held back by an exhausted budget.

-- A limit in integer micro-dollars (1 USD = 1,000,000) per UTC day or calendar month.
CREATE TABLE budgets (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    provider      text NOT NULL CHECK (length(provider) BETWEEN 1 AND 50),
    period        text NOT NULL CHECK (period IN ('day', 'month')),
    limit_micros  bigint NOT NULL CHECK (limit_micros BETWEEN 0 AND 1000000000000000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budgets_tenant_provider_period UNIQUE (tenant_id, provider, period)
);

-- What one period of a budget has spent (settled) and holds (reserved, not yet settled). A
-- reservation is one conditional UPDATE of these rows: `spent + reserved + estimate <= limit`.
CREATE TABLE budget_usage (
    budget_id        uuid NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start     timestamptz NOT NULL,
    spent_micros     bigint NOT NULL DEFAULT 0 CHECK (spent_micros >= 0),
    reserved_micros  bigint NOT NULL DEFAULT 0 CHECK (reserved_micros >= 0),
    PRIMARY KEY (budget_id, period_start)
);

-- A reservation: the estimate held against every budget of the provider until settled with the
-- real cost or released. One that outlives `expires_at` (its job died mid-call) is released by
-- the workers' sweep.
CREATE TABLE budget_reservations (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    provider         text NOT NULL,
    model            text NOT NULL,
    job_id           uuid,
    estimate_micros  bigint NOT NULL CHECK (estimate_micros >= 0),
    -- the budget periods it holds (parallel arrays)
    budget_ids       uuid[] NOT NULL,
    period_starts    timestamptz[] NOT NULL,
    state            text NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'settled', 'released')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    finished_at      timestamptz
);
CREATE INDEX budget_reservations_held ON budget_reservations (expires_at) WHERE state = 'held';

-- Every reserve, settle and release: where every cent went.
CREATE TABLE cost_ledger (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at                 timestamptz NOT NULL DEFAULT now(),
    entry              text NOT NULL CHECK (entry IN ('reserve', 'settle', 'release')),
    provider           text NOT NULL,
    model              text NOT NULL,
    -- reserve: the estimate held; settle: the real cost; release: the estimate given back
    amount_micros      bigint NOT NULL CHECK (amount_micros >= 0),
    prompt_tokens      bigint,
    completion_tokens  bigint,
    job_id             uuid,
    reservation_id     uuid NOT NULL,
    note               text
);
CREATE INDEX cost_ledger_tenant_at ON cost_ledger (tenant_id, at DESC, id DESC);
CREATE INDEX cost_ledger_job ON cost_ledger (job_id) WHERE job_id IS NOT NULL;

-- A budget's period crossed 80 % or reached 100 % (or refused a reservation): recorded once per
-- threshold and period, for alert deliveries to send.
CREATE TABLE budget_alerts (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    budget_id     uuid NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start  timestamptz NOT NULL,
    threshold     smallint NOT NULL CHECK (threshold IN (80, 100)),
    spent_micros  bigint NOT NULL,
    limit_micros  bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budget_alerts_once UNIQUE (budget_id, period_start, threshold)
);
CREATE INDEX budget_alerts_tenant ON budget_alerts (tenant_id, created_at DESC);

-- Parked jobs: `available` with `run_at` at the moment the hold ends (a budget's next period),
-- `parked_on` naming what holds them (`budget:<id>`), so raising that limit resumes them at
-- once. The claim needs nothing new: a parked job is simply not due. No attempt is spent.
ALTER TABLE jobs
    ADD COLUMN parked_on     text,
    ADD COLUMN parked_reason text;
CREATE INDEX jobs_parked ON jobs (tenant_id, parked_on) WHERE parked_on IS NOT NULL;
