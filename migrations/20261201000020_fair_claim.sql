-- Fairness and flow control on the claim (issue 17).
--
-- Tenants get a weight (an operator setting, default 1): a claim serves the tenants that have
-- work in proportion to their weights, and priority orders jobs within a tenant only. A tenant
-- may also have a cap on jobs running at once, fleet-wide (`max_running`), and caps per job kind
-- (`kind_limits`, e.g. {"classify_signal": 4}).
--
-- A job may carry a concurrency key with a limit: at most `concurrency_limit` jobs of the tenant
-- with that key run at once, fleet-wide. Jobs of a kind with a tenant kind limit get the key
-- `kind:<kind>` at enqueue. Both limits are counted in `job_slots`, one row per (tenant, key),
-- the empty key standing for the tenant's cap. The counts move in the triggers below, in the
-- transaction that moves a job into `running` (taken by the statement) or out of it (given back
-- at commit), so no path (claim, outcome, rescue, cancel, shutdown) can forget one, and the row
-- lock on the slot makes concurrent claims take turns: a limit is never exceeded, even for a
-- moment. Jobs with neither a key nor a capped tenant never fire the triggers (their WHEN
-- clauses) and never touch `job_slots`.
ALTER TABLE tenants
    ADD COLUMN queue_weight smallint NOT NULL DEFAULT 1 CHECK (queue_weight BETWEEN 1 AND 1000),
    ADD COLUMN max_running integer CHECK (max_running BETWEEN 1 AND 1000000),
    ADD COLUMN kind_limits jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(kind_limits) = 'object');

ALTER TABLE jobs
    ADD COLUMN concurrency_key text CHECK (length(concurrency_key) BETWEEN 1 AND 200),
    ADD COLUMN concurrency_limit integer CHECK (concurrency_limit BETWEEN 1 AND 10000),
    -- whether the tenant's cap counts this job (set at enqueue, and for every unfinished job
    -- when the operator sets or lifts the cap)
    ADD COLUMN tenant_capped boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT jobs_concurrency_pair CHECK ((concurrency_key IS NULL) = (concurrency_limit IS NULL));

CREATE TABLE job_slots (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- '' is the tenant's cap; any other value a concurrency key
    key        text NOT NULL,
    running    integer NOT NULL DEFAULT 0 CHECK (running >= 0),
    PRIMARY KEY (tenant_id, key)
);

-- The claim's order: priority first, then the wait, where one priority level is worth a minute
-- of waiting, so a low-priority job is never starved (aging). As a number: priority × 60 minus
-- the run time in seconds; larger runs first. Equal priorities keep run_at order.
CREATE FUNCTION job_claim_rank(priority smallint, run_at timestamptz) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN priority * 60.0::float8 - date_part('epoch', run_at);

-- What a worker claims next: per kind and tenant, in rank order (the claim visits each tenant
-- with work and takes its share from the front of its own queue).
DROP INDEX jobs_fetch;
CREATE INDEX jobs_fetch ON jobs (kind, tenant_id, job_claim_rank(priority, run_at) DESC)
    WHERE state IN ('available', 'failed');

-- Takes the job's slots as it enters `running`. Refusing a claim (returning NULL) leaves the
-- row as it was: the claim simply does not get that job.
CREATE FUNCTION job_slots_take() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cap integer;
BEGIN
    IF NEW.tenant_capped THEN
        SELECT max_running INTO cap FROM tenants WHERE id = NEW.tenant_id;
        IF cap IS NOT NULL THEN
            INSERT INTO job_slots AS s (tenant_id, key, running) VALUES (NEW.tenant_id, '', 1)
            ON CONFLICT (tenant_id, key) DO UPDATE SET running = s.running + 1
                WHERE s.running < cap;
            IF NOT FOUND THEN
                RETURN NULL;
            END IF;
        END IF;
    END IF;
    IF NEW.concurrency_key IS NOT NULL THEN
        INSERT INTO job_slots AS s (tenant_id, key, running)
            VALUES (NEW.tenant_id, NEW.concurrency_key, 1)
        ON CONFLICT (tenant_id, key) DO UPDATE SET running = s.running + 1
            WHERE s.running < NEW.concurrency_limit;
        IF NOT FOUND THEN
            IF cap IS NOT NULL THEN
                UPDATE job_slots SET running = greatest(running - 1, 0)
                WHERE tenant_id = NEW.tenant_id AND key = '';
            END IF;
            RETURN NULL;
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER jobs_slots_take BEFORE UPDATE OF state ON jobs
    FOR EACH ROW
    WHEN ((NEW.concurrency_key IS NOT NULL OR NEW.tenant_capped)
          AND NEW.state = 'running' AND OLD.state <> 'running')
    EXECUTE FUNCTION job_slots_take();

-- Gives the slots back as the job leaves `running`, at commit: by then the statement that moved
-- it holds every row it needed, so it waits for a slot row holding no job row a claim might
-- want (a claim's skip-locked scan can lock a row it then finds running; taking the slot
-- mid-statement could close a cycle with such a claim). Wakes the kind's workers: a job
-- waiting for the slot may go now.
CREATE FUNCTION job_slots_give_back() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tenant_capped THEN
        UPDATE job_slots SET running = greatest(running - 1, 0)
        WHERE tenant_id = NEW.tenant_id AND key = '';
    END IF;
    IF NEW.concurrency_key IS NOT NULL THEN
        UPDATE job_slots SET running = greatest(running - 1, 0)
        WHERE tenant_id = NEW.tenant_id AND key = NEW.concurrency_key;
    END IF;
    PERFORM pg_notify('demandflow_jobs', NEW.kind);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER jobs_slots_give_back AFTER UPDATE OF state ON jobs
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN ((NEW.concurrency_key IS NOT NULL OR NEW.tenant_capped)
          AND OLD.state = 'running' AND NEW.state <> 'running')
    EXECUTE FUNCTION job_slots_give_back();

-- The jobs of a concurrency key that are not finished: counted by `cancel_newest`, cancelled by
-- `keep_newest`, listed per key by `/queues`. Jobs without a key have no entry.
CREATE INDEX jobs_concurrency_key ON jobs (tenant_id, concurrency_key)
    WHERE concurrency_key IS NOT NULL AND state IN ('available', 'running', 'failed');
