-- Fewer index entries per job on the hot path, and vacuum that keeps up with the queue (issue 16).
--
-- The idempotency key: the UNIQUE constraint indexed every job, though most have no key (a
-- NULL never conflicts, but a b-tree still stores its entry, written on insert and vacuumed
-- after delete). A partial unique index holds only the jobs that carry a key; enqueue's
-- `ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL` infers it.
ALTER TABLE jobs DROP CONSTRAINT jobs_tenant_idempotency_key;
CREATE UNIQUE INDEX jobs_tenant_idempotency_key ON jobs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Vacuum: each job row is updated on claim and on outcome and deleted by retention, so `jobs`
-- makes dead tuples at the queue's rate. The default trigger (20 % of the table dead) lets a
-- table of a million rows carry 200,000 dead ones before a vacuum, and the claim's index scan
-- steps over their entries on every fetch. 1 % (plus 1,000 rows) vacuums small and often, and
-- a cost limit ten times the default lets it finish before the next round is due. `events`
-- (the delivery outbox: inserted, marked dispatched, pruned) churns the same way.
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
                      autovacuum_vacuum_cost_limit = 2000, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
