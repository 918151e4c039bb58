-- Singleton and debounce keys on jobs (issue 17).
--
-- singleton_key  at most one job with this key per tenant is queued, running or waiting for a
--                retry: another enqueue with the key while one is there returns that one and
--                inserts nothing (the unique index decides, so concurrent enqueues cannot both
--                win).
-- debounce_key   while a job with this key waits to start (available, never attempted), another
--                enqueue with the key replaces its args and moves its start to the end of the
--                new window (trailing edge: the newest args run once the enqueues stop). Once it
--                has started, the next enqueue makes a new job.
--
-- Both indexes are partial: a job without a key has no entry in either.
ALTER TABLE jobs
    ADD COLUMN singleton_key text CHECK (length(singleton_key) BETWEEN 1 AND 200),
    ADD COLUMN debounce_key text CHECK (length(debounce_key) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX jobs_singleton ON jobs (tenant_id, singleton_key)
    WHERE singleton_key IS NOT NULL AND state IN ('available', 'running', 'failed');
CREATE UNIQUE INDEX jobs_debounce ON jobs (tenant_id, debounce_key)
    WHERE debounce_key IS NOT NULL AND state = 'available' AND attempt = 0;
