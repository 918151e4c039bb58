-- A job leaving `running` gives its slots back as before, but wakes the kind's workers only when
-- a slot it returns was full: only then can a job be waiting for it. The wake-up used to be sent
-- for every such job, and a NOTIFY takes the server's global notification lock at commit, so
-- every completer batch holding a keyed or capped job queued its commit behind the others' (the
-- fairness benchmark's drain with keys and a cap fell to 0.4× the drain without them). Jobs of
-- one key with different limits are judged by the leaving job's limit: at worst a wake-up is
-- missed and the waiting job starts at the workers' next poll.
CREATE OR REPLACE FUNCTION job_slots_give_back() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was integer;
    wake boolean := false;
BEGIN
    IF NEW.tenant_capped THEN
        UPDATE job_slots s SET running = greatest(s.running - 1, 0)
        FROM tenants t
        WHERE s.tenant_id = NEW.tenant_id AND s.key = '' AND t.id = NEW.tenant_id
        RETURNING s.running + 1 >= coalesce(t.max_running, 0) INTO wake;
        wake := coalesce(wake, false);
    END IF;
    IF NEW.concurrency_key IS NOT NULL THEN
        UPDATE job_slots SET running = greatest(running - 1, 0)
        WHERE tenant_id = NEW.tenant_id AND key = NEW.concurrency_key
        RETURNING running + 1 INTO was;
        wake := wake OR coalesce(was >= NEW.concurrency_limit, false);
    END IF;
    IF wake THEN
        PERFORM pg_notify('demandflow_jobs', NEW.kind);
    END IF;
    RETURN NULL;
END
$$;
