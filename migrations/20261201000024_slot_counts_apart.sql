-- A slot's count in two rows: what claims took (`job_slots.taken`, moved in the claim's
-- statement under the row's lock, as before) and what finished jobs gave back
-- (`job_slots_returned.returned`, moved at the commit of the outcome). Before, both moved one
-- `running` column, so every completer commit holding a capped or keyed job waited for the
-- claims holding that row and every such claim for the completers' commits (and their WAL
-- flush): the fairness benchmark's drain with a cap and keys stayed below half the drain
-- without them. Now claims and completers never wait for each other: each side has its own
-- row. A claim reads `returned` before it locks `taken`; `returned` only grows, so a stale read
-- can only make the claim stricter, never let it past the limit. Readers use `job_slot_use`.
ALTER TABLE job_slots RENAME COLUMN running TO taken;
ALTER TABLE job_slots ALTER COLUMN taken TYPE bigint;

CREATE TABLE job_slots_returned (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key        text NOT NULL,
    returned   bigint NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- Jobs running per slot: taken minus given back.
CREATE VIEW job_slot_use AS
    SELECT s.tenant_id, s.key, greatest(s.taken - coalesce(r.returned, 0), 0)::int4 AS running
    FROM job_slots s
    LEFT JOIN job_slots_returned r ON r.tenant_id = s.tenant_id AND r.key = s.key;

CREATE OR REPLACE FUNCTION job_slots_take() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cap integer;
    back bigint;
BEGIN
    IF NEW.tenant_capped THEN
        SELECT max_running INTO cap FROM tenants WHERE id = NEW.tenant_id;
        IF cap IS NOT NULL THEN
            SELECT coalesce(max(returned), 0) INTO back FROM job_slots_returned
            WHERE tenant_id = NEW.tenant_id AND key = '';
            INSERT INTO job_slots AS s (tenant_id, key, taken) VALUES (NEW.tenant_id, '', back + 1)
            ON CONFLICT (tenant_id, key) DO UPDATE SET taken = s.taken + 1
                WHERE s.taken - back < cap;
            IF NOT FOUND THEN
                RETURN NULL;
            END IF;
        END IF;
    END IF;
    IF NEW.concurrency_key IS NOT NULL THEN
        SELECT coalesce(max(returned), 0) INTO back FROM job_slots_returned
        WHERE tenant_id = NEW.tenant_id AND key = NEW.concurrency_key;
        INSERT INTO job_slots AS s (tenant_id, key, taken)
            VALUES (NEW.tenant_id, NEW.concurrency_key, back + 1)
        ON CONFLICT (tenant_id, key) DO UPDATE SET taken = s.taken + 1
            WHERE s.taken - back < NEW.concurrency_limit;
        IF NOT FOUND THEN
            IF cap IS NOT NULL THEN
                UPDATE job_slots SET taken = taken - 1
                WHERE tenant_id = NEW.tenant_id AND key = '';
            END IF;
            RETURN NULL;
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- Still at commit (the reasons are in 20261201000020), now on the rows claims never lock. Wakes
-- the kind only when the slot it frees was full (20261201000023).
CREATE OR REPLACE FUNCTION job_slots_give_back() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    back bigint;
    took bigint;
    lim integer;
    wake boolean := false;
BEGIN
    IF NEW.tenant_capped THEN
        INSERT INTO job_slots_returned AS r (tenant_id, key, returned) VALUES (NEW.tenant_id, '', 1)
        ON CONFLICT (tenant_id, key) DO UPDATE SET returned = r.returned + 1
        RETURNING returned INTO back;
        SELECT s.taken, t.max_running INTO took, lim
        FROM job_slots s JOIN tenants t ON t.id = s.tenant_id
        WHERE s.tenant_id = NEW.tenant_id AND s.key = '';
        wake := coalesce(took - (back - 1) >= lim, false);
    END IF;
    IF NEW.concurrency_key IS NOT NULL THEN
        INSERT INTO job_slots_returned AS r (tenant_id, key, returned)
            VALUES (NEW.tenant_id, NEW.concurrency_key, 1)
        ON CONFLICT (tenant_id, key) DO UPDATE SET returned = r.returned + 1
        RETURNING returned INTO back;
        SELECT taken INTO took FROM job_slots
        WHERE tenant_id = NEW.tenant_id AND key = NEW.concurrency_key;
        wake := wake OR coalesce(took - (back - 1) >= NEW.concurrency_limit, false);
    END IF;
    IF wake THEN
        PERFORM pg_notify('demandflow_jobs', NEW.kind);
    END IF;
    RETURN NULL;
END
$$;

-- The claim finds the keys with jobs running (its `busy` set) through this small index instead
-- of checking every waiting keyed job against the slot tables: a full key's backlog at the front
-- of a tenant's queue costs the claim a scan of index entries, not two lookups each.
CREATE INDEX jobs_running_keys ON jobs (tenant_id, concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;
