-- Leads: the people worth contacting that `score_lead` finds in signals, scored 0 to 100 from
-- weighted factors (per tenant), deduplicated by contact per tenant.
--
-- Identity: every contact (a normalised email or an E.164 phone number) belongs to at most one
-- lead of its tenant (the primary key of `lead_contacts`); a signal attaches to the lead that
-- owns its first email (else phone), claimed with `INSERT … ON CONFLICT`, so two jobs racing on the
-- same contact make one lead. A signal without any contact makes a lead of its own, keyed by
-- that signal (`key_signal_id`, unique). A lead has many signals (`lead_signals`); a signal
-- belongs to one lead.

-- A tenant's scoring weights; no row means the defaults.
CREATE TABLE lead_settings (
    tenant_id               uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    weight_confidence       double precision NOT NULL DEFAULT 40 CHECK (weight_confidence BETWEEN 0 AND 100),
    weight_recency          double precision NOT NULL DEFAULT 20 CHECK (weight_recency BETWEEN 0 AND 100),
    weight_engagement       double precision NOT NULL DEFAULT 0 CHECK (weight_engagement BETWEEN 0 AND 100),
    weight_contact          double precision NOT NULL DEFAULT 25 CHECK (weight_contact BETWEEN 0 AND 100),
    weight_source           double precision NOT NULL DEFAULT 15 CHECK (weight_source BETWEEN 0 AND 100),
    -- recency = 0.5 ^ (age / half-life)
    recency_half_life_secs  integer NOT NULL DEFAULT 604800
                            CHECK (recency_half_life_secs BETWEEN 3600 AND 31536000),
    -- ISO 3166 region of phone numbers written without a country code (none: such numbers
    -- are not taken as contacts)
    default_region          text CHECK (default_region ~ '^[A-Z]{2}$'),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (weight_confidence + weight_recency + weight_engagement + weight_contact + weight_source > 0)
);

CREATE TABLE leads (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- the first email and phone number found (every contact is in lead_contacts)
    email          text,
    phone          text,
    -- a lead without any contact is the lead of this one signal
    key_signal_id  uuid,
    status         text NOT NULL DEFAULT 'new'
                   CHECK (status IN ('new', 'contacted', 'qualified', 'exported', 'rejected')),
    -- the best score of its signals, and that signal's factor breakdown
    score          smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
    factors        jsonb NOT NULL,
    -- the source of the signal that made the lead (its reliability counts this lead)
    source_id      uuid REFERENCES sources (id) ON DELETE SET NULL,
    -- the latest classification category a workflow passed
    category       text CHECK (length(category) <= 100),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    scored_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    CONSTRAINT leads_tenant_key_signal UNIQUE (tenant_id, key_signal_id)
);
CREATE INDEX leads_tenant_id ON leads (tenant_id, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX leads_tenant_score ON leads (tenant_id, score) WHERE deleted_at IS NULL;
-- a source's reliability: its leads by status
CREATE INDEX leads_source_status ON leads (tenant_id, source_id, status);

-- Who a contact belongs to. The deferred foreign key lets a job claim contacts for a lead it
-- creates later in the same transaction (or hand them to an existing lead instead).
CREATE TABLE lead_contacts (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('email', 'phone')),
    value       text NOT NULL CHECK (length(value) BETWEEN 3 AND 254),
    lead_id     uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, value)
);
CREATE INDEX lead_contacts_lead ON lead_contacts (lead_id);

-- The signals of a lead, each with its own score and breakdown and the contacts found in it
-- (`email:<address>`, `phone:<E.164>`), so a GDPR request finds every signal naming a contact.
CREATE TABLE lead_signals (
    signal_id   uuid PRIMARY KEY REFERENCES signals (id) ON DELETE CASCADE,
    lead_id     uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    contacts    text[] NOT NULL DEFAULT '{}',
    score       smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
    factors     jsonb NOT NULL,
    category    text CHECK (length(category) <= 100),
    scored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_signals_lead ON lead_signals (lead_id, score DESC);
CREATE INDEX lead_signals_contacts ON lead_signals USING gin (contacts);
