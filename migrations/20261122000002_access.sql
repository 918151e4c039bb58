-- Keys that rotate, tenant settings, and the audit log.

-- Rotation keeps the previous secret working until previous_expires_at (the grace period).
ALTER TABLE api_keys
    ADD COLUMN previous_secret_hash bytea UNIQUE,
    ADD COLUMN previous_expires_at  timestamptz,
    ADD COLUMN rotated_at           timestamptz;

-- Per-tenant settings; NULL retention means the server's default.
ALTER TABLE tenants
    ADD COLUMN rate_limit_per_second integer NOT NULL DEFAULT 50
        CHECK (rate_limit_per_second BETWEEN 1 AND 100000),
    ADD COLUMN rate_limit_burst      integer NOT NULL DEFAULT 100
        CHECK (rate_limit_burst BETWEEN 1 AND 100000),
    ADD COLUMN job_retention_secs    integer
        CHECK (job_retention_secs BETWEEN 60 AND 31536000),
    ADD COLUMN updated_at            timestamptz NOT NULL DEFAULT now();

-- Who did what, with the state before and after; written in the transaction of the change.
-- Partitioned by time so old months can be detached and dropped whole; everything lands in the
-- default partition until monthly partitions are attached.
CREATE TABLE audit_log (
    id            uuid NOT NULL,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_key_id  uuid,
    actor_role    text,
    action        text NOT NULL,
    target_type   text NOT NULL,
    target_id     text NOT NULL,
    before        jsonb,
    after         jsonb,
    request_id    text,
    client_addr   text,
    PRIMARY KEY (at, id)
) PARTITION BY RANGE (at);
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC, id DESC);
