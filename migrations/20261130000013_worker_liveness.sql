-- Dead-worker detection (issue 16): a SIGKILLed worker's jobs run again within a second or two,
-- not after its lease.
--
-- Each worker holds a session-level advisory lock for its lifetime, on the connection it keeps
-- open to LISTEN: key (1684406273, lock_key), the first number naming demandflow's worker locks
-- (`liveness::LOCK_NAMESPACE` in jobs), the second drawn from `worker_lock_keys` for each session
-- (so no two live sessions ever share one). The lock is taken before the row says which key to
-- look for, so a live worker's key is never seen free. When a worker process dies, the kernel
-- closes its sockets, Postgres ends its backend and the lock is free: the other workers try each
-- registered worker's lock, and the one that gets a dead worker's lock marks it stopped and
-- rescues its running jobs in the transaction that holds it.
--
-- lock_key     the key of the lock this worker's session holds; NULL when it takes none
--              (DEAD_WORKER_CHECK_MS=0): its jobs are rescued when their lease expires
-- backend_pid  that session's backend, for operators (`pg_stat_activity`); the lock, not the
--              pid, is what is checked, since a pid can be reused

CREATE SEQUENCE worker_lock_keys AS integer MINVALUE 1 CYCLE;

ALTER TABLE workers
    ADD COLUMN lock_key integer,
    ADD COLUMN backend_pid integer;
