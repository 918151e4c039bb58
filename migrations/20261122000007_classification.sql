-- Classification: per-tenant keyword rulesets (immutable versions), the verdicts (one per signal
-- and ruleset version), and the memo of paid LLM answers.

CREATE TABLE rulesets (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    latest_version  integer NOT NULL DEFAULT 1 CHECK (latest_version >= 1),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rulesets_tenant_name UNIQUE (tenant_id, name)
);
CREATE INDEX rulesets_tenant ON rulesets (tenant_id, id DESC);

-- Immutable: new rules are a new version. Its id keys the workers' compiled-matcher cache and
-- the memo, so a new version never reuses what an old one decided.
CREATE TABLE ruleset_versions (
    id          uuid PRIMARY KEY,
    ruleset_id  uuid NOT NULL REFERENCES rulesets (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version     integer NOT NULL CHECK (version >= 1),
    rules       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ruleset_versions_number UNIQUE (ruleset_id, version)
);

-- One verdict per signal and ruleset version: a re-run finds it instead of adding another, and
-- a new version adds its own row beside the old ones, which never change.
CREATE TABLE classifications (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    signal_id           uuid NOT NULL REFERENCES signals (id) ON DELETE CASCADE,
    -- the signal's source, for the cost estimate's history
    source_id           uuid NOT NULL,
    ruleset_id          uuid NOT NULL REFERENCES rulesets (id) ON DELETE CASCADE,
    ruleset_version_id  uuid NOT NULL REFERENCES ruleset_versions (id) ON DELETE CASCADE,
    ruleset_version     integer NOT NULL,
    category            text,
    relevant            boolean NOT NULL,
    score               smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
    keyword_score       smallint NOT NULL CHECK (keyword_score BETWEEN 0 AND 100),
    confidence          real NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    method              text NOT NULL CHECK (method IN ('keyword', 'llm')),
    low_confidence      boolean NOT NULL DEFAULT false,
    reasons             jsonb NOT NULL DEFAULT '[]',
    -- the LLM's model, when one was asked (or its memo read)
    model               text,
    -- the LLM's part: not needed (keywords decided), not configured, a memo hit, or paid calls
    llm                 text NOT NULL CHECK (llm IN ('not_needed', 'not_configured', 'memo', 'paid')),
    llm_calls           smallint NOT NULL DEFAULT 0 CHECK (llm_calls >= 0),
    cost_micros         bigint NOT NULL DEFAULT 0 CHECK (cost_micros >= 0),
    prompt_tokens       bigint NOT NULL DEFAULT 0,
    completion_tokens   bigint NOT NULL DEFAULT 0,
    job_id              uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT classifications_once UNIQUE (signal_id, ruleset_version_id)
);
CREATE INDEX classifications_signal ON classifications (tenant_id, signal_id, created_at DESC);
CREATE INDEX classifications_source ON classifications (tenant_id, source_id, created_at DESC);

-- Paid LLM answers by (ruleset version, content hash, model): a hit costs nothing, on any worker,
-- after any restart. A `pending` row is a claim: the job named in `claimed_by` is paying for the
-- answer right now, and every other job asking the same question waits (without spending an
-- attempt) until the row is `done`, or until the claim expires (its worker died).
CREATE TABLE classification_memo (
    ruleset_version_id  uuid NOT NULL REFERENCES ruleset_versions (id) ON DELETE CASCADE,
    content_hash        bytea NOT NULL,
    model               text NOT NULL,
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    state               text NOT NULL CHECK (state IN ('pending', 'done')),
    claimed_by          uuid,
    claim_expires_at    timestamptz,
    -- done: the validated answer {relevant, category, confidence, reasons}
    answer              jsonb,
    cost_micros         bigint NOT NULL DEFAULT 0 CHECK (cost_micros >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ruleset_version_id, content_hash, model),
    CHECK ((state = 'done') = (answer IS NOT NULL))
);
CREATE INDEX classification_memo_content ON classification_memo (tenant_id, content_hash);

-- An answer lives no longer than the content it was about: when a signal is deleted for good
-- (GDPR erase, retention purge), the memo rows of its content go with it.
CREATE FUNCTION classification_memo_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM classification_memo m
    USING gone g
    WHERE m.tenant_id = g.tenant_id AND m.content_hash = g.content_hash;
    RETURN NULL;
END;
$$;
CREATE TRIGGER signals_forget_memo AFTER DELETE ON signals
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION classification_memo_forget();
