-- Sources and signals: where public signals come from, the signals themselves (sanitised,
-- deduplicated), per-tenant quality gates with rejection counts, and the fleet-wide state of
-- every outbound host (rate limiter and circuit breaker).

CREATE TABLE sources (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind                text NOT NULL
                        CHECK (kind IN ('rss', 'atom', 'json_feed', 'reddit_listing', 'push')),
    -- the feed's URL (NULL for push sources), and its lower-cased host (the rate-limit key)
    url                 text CHECK (length(url) <= 2048),
    host                text,
    poll_every_secs     integer NOT NULL CHECK (poll_every_secs BETWEEN 1 AND 604800),
    enabled             boolean NOT NULL DEFAULT true,
    tags                text[] NOT NULL DEFAULT '{}',
    rate_limit_per_min  integer NOT NULL DEFAULT 60 CHECK (rate_limit_per_min BETWEEN 1 AND 6000),
    -- push sources: the HMAC-SHA256 key of signed batches (never shown)
    secret              text,
    -- conditional GET: what the server said last time
    etag                text,
    last_modified       text,
    -- scheduling: the start of the next interval slot to poll
    next_poll_at        timestamptz,
    last_polled_at      timestamptz,
    last_status         integer,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    CHECK ((kind = 'push') = (url IS NULL))
);
CREATE INDEX sources_tenant ON sources (tenant_id, id DESC) WHERE deleted_at IS NULL;
-- what the scheduler claims
CREATE INDEX sources_due ON sources (next_poll_at)
    WHERE enabled AND deleted_at IS NULL AND kind <> 'push';

-- A tenant's quality gates and signal retention; no row means the defaults.
CREATE TABLE signal_settings (
    tenant_id              uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    min_length             integer NOT NULL DEFAULT 20 CHECK (min_length BETWEEN 0 AND 10000),
    max_link_density       real NOT NULL DEFAULT 0.3 CHECK (max_link_density BETWEEN 0 AND 1),
    max_repeated_chars     integer NOT NULL DEFAULT 12 CHECK (max_repeated_chars BETWEEN 2 AND 1000),
    blocklist              text[] NOT NULL DEFAULT '{}',
    -- ISO 639-3 codes (`eng`, `deu`); empty: every language
    languages              text[] NOT NULL DEFAULT '{}',
    simhash_threshold      integer NOT NULL DEFAULT 3 CHECK (simhash_threshold BETWEEN 0 AND 3),
    near_duplicate_window_secs integer NOT NULL DEFAULT 604800
                           CHECK (near_duplicate_window_secs BETWEEN 60 AND 31536000),
    retention_secs         integer CHECK (retention_secs BETWEEN 3600 AND 315360000),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE signals (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source_id        uuid NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    external_id      text,
    url              text,
    title            text NOT NULL,
    -- sanitised HTML (no scripts, styles or event handlers) and the plain text beside it
    body_html        text NOT NULL,
    body_text        text NOT NULL,
    author           text,
    language         text,
    published_at     timestamptz,
    -- sha256 of the normalised content: one signal per content per tenant
    content_hash     bytea NOT NULL,
    simhash          bigint NOT NULL,
    -- a near-duplicate points at its original and is discarded, not new work
    duplicate_of     uuid REFERENCES signals (id) ON DELETE SET NULL,
    state            text NOT NULL DEFAULT 'new'
                     CHECK (state IN ('new', 'classified', 'scored', 'alerted', 'discarded', 'expired')),
    discard_reason   text,
    search           tsvector GENERATED ALWAYS AS (
                         setweight(to_tsvector('simple', title), 'A') ||
                         setweight(to_tsvector('simple', body_text), 'B')) STORED,
    -- the simhash in four 16-bit bands: two hashes within 3 bits share at least one band
    band0            integer GENERATED ALWAYS AS (((simhash >> 48) & 65535)::integer) STORED,
    band1            integer GENERATED ALWAYS AS (((simhash >> 32) & 65535)::integer) STORED,
    band2            integer GENERATED ALWAYS AS (((simhash >> 16) & 65535)::integer) STORED,
    band3            integer GENERATED ALWAYS AS ((simhash & 65535)::integer) STORED,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    CONSTRAINT signals_tenant_content UNIQUE (tenant_id, content_hash)
);
CREATE INDEX signals_tenant_id ON signals (tenant_id, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX signals_search ON signals USING gin (search);
CREATE INDEX signals_band0 ON signals (tenant_id, band0, created_at) WHERE duplicate_of IS NULL;
CREATE INDEX signals_band1 ON signals (tenant_id, band1, created_at) WHERE duplicate_of IS NULL;
CREATE INDEX signals_band2 ON signals (tenant_id, band2, created_at) WHERE duplicate_of IS NULL;
CREATE INDEX signals_band3 ON signals (tenant_id, band3, created_at) WHERE duplicate_of IS NULL;
CREATE INDEX signals_author ON signals (tenant_id, author) WHERE author IS NOT NULL;
CREATE INDEX signals_retention ON signals (tenant_id, created_at);

-- Signals refused by a quality gate, counted per source and reason.
CREATE TABLE signal_rejections (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source_id   uuid NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    reason      text NOT NULL,
    count       bigint NOT NULL DEFAULT 0,
    last_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, source_id, reason)
);

-- Every outbound host's politeness state, shared by the whole fleet (not per tenant: the host
-- sees one demandflow). The limiter spaces requests `60 / rate_limit_per_min` seconds apart;
-- the circuit opens after consecutive failures and lets one probe through after a cool-down.
CREATE TABLE hosts (
    host                  text PRIMARY KEY,
    next_slot_at          timestamptz NOT NULL DEFAULT now(),
    -- a server's Retry-After, honoured by every worker
    blocked_until         timestamptz,
    circuit               text NOT NULL DEFAULT 'closed'
                          CHECK (circuit IN ('closed', 'open', 'half_open')),
    consecutive_failures  integer NOT NULL DEFAULT 0,
    opened_at             timestamptz,
    -- half-open: the probe in flight holds the host until then
    probe_until           timestamptz,
    requests_total        bigint NOT NULL DEFAULT 0,
    last_success_at       timestamptz,
    last_failure_at       timestamptz,
    last_error            text,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
