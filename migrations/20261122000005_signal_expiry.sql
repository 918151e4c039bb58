-- Signals nobody acted on expire: with `expire_after_secs` set, a signal still `new`,
-- `classified` or `scored` that long after ingest moves to `expired` (the workers' sweep).
ALTER TABLE signal_settings
    ADD COLUMN expire_after_secs integer CHECK (expire_after_secs BETWEEN 3600 AND 315360000);
-- the sweep's scan: open signals by age
CREATE INDEX signals_open_by_age ON signals (tenant_id, created_at)
    WHERE state IN ('new', 'classified', 'scored') AND deleted_at IS NULL;
