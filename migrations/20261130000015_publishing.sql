-- Publishing (issue 14): posts to Mastodon-compatible servers, once.
--
-- publish_accounts  a server and an OAuth access token (sealed), pacing, approval
-- posts             one status to publish: draft -> scheduled -> published | failed
-- post_media        images attached to a post, kept until published, with the server's id

CREATE TABLE publish_accounts (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- the server's https base URL (`https://mastodon.example`)
    base_url            text NOT NULL CHECK (length(base_url) BETWEEN 8 AND 2048),
    -- the OAuth access token, sealed with the operator key
    token               text NOT NULL,
    -- posts wait for `POST /posts/{id}/approve` before they are scheduled
    requires_approval   boolean NOT NULL DEFAULT false,
    -- requests a minute across the fleet (Mastodon's 300 per 5 minutes by default)
    rate_limit_per_min  integer NOT NULL DEFAULT 60 CHECK (rate_limit_per_min BETWEEN 1 AND 6000),
    enabled             boolean NOT NULL DEFAULT true,
    -- why it was disabled (by a person, or the server refused the token)
    disabled_reason     text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT publish_accounts_tenant_name UNIQUE (tenant_id, name)
);

CREATE TABLE posts (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id      uuid NOT NULL REFERENCES publish_accounts (id) ON DELETE CASCADE,
    text            text NOT NULL CHECK (length(text) BETWEEN 1 AND 5000),
    visibility      text NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private', 'direct')),
    spoiler_text    text,
    language        text,
    publish_at      timestamptz,
    state           text NOT NULL CHECK (state IN ('draft', 'scheduled', 'published', 'failed')),
    -- the workflow step that made it (`step:<run>:<step>:<item>`): one post per step, ever
    step_key        text,
    approved_at     timestamptz,
    approved_by     text,
    -- set when the first `POST /api/v1/statuses` went out: from then on the post may exist on
    -- the server even without a remote id (a worker killed mid-call)
    posting_since   timestamptz,
    -- the server's status id and URL once published: the guard against a second post
    remote_id       text,
    remote_url      text,
    -- why it failed
    error           text,
    attempts        integer NOT NULL DEFAULT 0,
    job_id          uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    CONSTRAINT posts_step_once UNIQUE (tenant_id, step_key)
);
CREATE INDEX posts_tenant_id ON posts (tenant_id, id DESC);
CREATE INDEX posts_account ON posts (account_id, id DESC);

CREATE TABLE post_media (
    post_id       uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position      smallint NOT NULL CHECK (position BETWEEN 0 AND 3),
    content_type  text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    bytes         bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 1048576),
    description   text CHECK (length(description) <= 1500),
    -- the server's media id once uploaded (a retry never uploads again), and whether the
    -- server finished processing it
    remote_id     text,
    ready         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (post_id, position)
);
