-- Partner export: leads handed to buyers' HTTPS endpoints, with their confirmation and the
-- money they bring.
--
-- A partner is a buyer's endpoint (direct post, or ping then post) with its routing (which
-- leads: score range, categories, regions; its place in the waterfall; exclusive or shared),
-- a daily cap, and sealed credentials (its auth and the postback secret). Each (lead, partner)
-- is exported at most once (`partner_exports`, unique): its id is the idempotency key sent on
-- every try. A lead sold exclusively has one live export at most: a partial unique index, not
-- a check. Sales and returns are rows of `revenue_ledger` (integer cents), one of each kind
-- per export at most.

ALTER TABLE leads DROP CONSTRAINT leads_status_check;
ALTER TABLE leads ADD CONSTRAINT leads_status_check
    CHECK (status IN ('new', 'contacted', 'qualified', 'exported', 'returned', 'rejected'));

CREATE TABLE partners (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    mode                text NOT NULL CHECK (mode IN ('direct', 'ping_post')),
    -- URLs, body format and templates, response mappings, confirmation, auth kind (no secret)
    config              jsonb NOT NULL,
    -- sealed: the auth's token, password or HMAC key, and the postback secret
    credentials         text NOT NULL,
    rate_limit_per_min  integer NOT NULL CHECK (rate_limit_per_min BETWEEN 1 AND 6000),
    daily_cap           integer CHECK (daily_cap BETWEEN 1 AND 1000000),
    currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- routing: lower priority is asked first
    priority            integer NOT NULL DEFAULT 100,
    min_score           smallint NOT NULL DEFAULT 0 CHECK (min_score BETWEEN 0 AND 100),
    max_score           smallint NOT NULL DEFAULT 100 CHECK (max_score BETWEEN 0 AND 100),
    categories          text[] NOT NULL DEFAULT '{}',
    regions             text[] NOT NULL DEFAULT '{}',
    exclusive           boolean NOT NULL DEFAULT true,
    enabled             boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT partners_tenant_name UNIQUE (tenant_id, name),
    CHECK (min_score <= max_score)
);
CREATE INDEX partners_routing ON partners (tenant_id, priority, id) WHERE enabled;

CREATE TABLE partner_exports (
    -- the idempotency key sent on every ping and post of this (lead, partner)
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    lead_id          uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    partner_id       uuid NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    exclusive        boolean NOT NULL,
    -- pending: no answer recorded yet (tries go on with the same key);
    -- posted: received, waiting for the postback; accepted, converted: sold;
    -- returned: sold, then returned; rejected, duplicate, failed: not sold (final)
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'posted', 'accepted', 'converted', 'returned',
                                      'rejected', 'duplicate', 'failed')),
    -- the UTC day the export counts against the partner's cap
    day              date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date,
    bid_id           text CHECK (length(bid_id) <= 200),
    partner_lead_id  text CHECK (length(partner_lead_id) <= 200),
    price_cents      bigint CHECK (price_cents >= 0),
    currency         text NOT NULL,
    reason           text CHECK (length(reason) <= 500),
    attempts         integer NOT NULL DEFAULT 0,
    last_status      integer,
    -- the start of the partner's last answer
    excerpt          text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    confirmed_at     timestamptz,
    CONSTRAINT partner_exports_once UNIQUE (lead_id, partner_id)
);
-- Exclusivity, enforced by the database: one live exclusive export per lead.
CREATE UNIQUE INDEX partner_exports_exclusive ON partner_exports (lead_id)
    WHERE exclusive AND state IN ('pending', 'posted', 'accepted', 'converted');
CREATE INDEX partner_exports_cap ON partner_exports (partner_id, day, state);
CREATE INDEX partner_exports_partner_lead ON partner_exports (partner_id, partner_lead_id)
    WHERE partner_lead_id IS NOT NULL;
CREATE INDEX partner_exports_tenant ON partner_exports (tenant_id, created_at DESC);

CREATE TABLE revenue_ledger (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    partner_id   uuid REFERENCES partners (id) ON DELETE SET NULL,
    -- kept when the partner or the lead goes: money history stays
    partner_name text NOT NULL,
    export_id    uuid REFERENCES partner_exports (id) ON DELETE SET NULL,
    lead_id      uuid,
    kind         text NOT NULL CHECK (kind IN ('sale', 'return')),
    -- a sale is positive, a return negative
    amount_cents bigint NOT NULL CHECK ((kind = 'sale' AND amount_cents >= 0)
                                        OR (kind = 'return' AND amount_cents <= 0)),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reason       text CHECK (length(reason) <= 500),
    day          date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT revenue_ledger_once UNIQUE (export_id, kind)
);
CREATE INDEX revenue_ledger_day ON revenue_ledger (tenant_id, day, partner_id);
