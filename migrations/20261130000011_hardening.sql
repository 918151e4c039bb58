-- Hostile input and failing dependencies (issue 12).

-- Signed requests (workflow webhooks, push sources) accepted within the signing tolerance, so
-- the same signed request cannot start a second run or ingest twice. Written in the transaction
-- that acts on the request; pruned by the workers once the timestamp could no longer verify.
CREATE TABLE seen_signatures (
    scope     uuid        NOT NULL,
    digest    bytea       NOT NULL,
    signed_at timestamptz NOT NULL,
    PRIMARY KEY (scope, digest)
);
CREATE INDEX seen_signatures_signed_at ON seen_signatures (signed_at);
