-- Source kinds that search social and JSON APIs (issue 19).
--
-- sources.settings  what the kind asks its API (the query, a hashtag, a json_api mapping),
--                   validated by the domain at create; '{}' for feeds and push sources.
-- sources.cursor    where the next poll of an API source resumes (the kind's own small JSON
--                   document: a time, an id, a page token). Written in the transaction that
--                   stores the signals it led to, so a crash between never loses or repeats.
-- signals.likes, reposts, comments, points
--                   engagement as the API reported it at ingest (NULL: not given); points is
--                   an item's score or votes (Hacker News points, a Reddit score). The lead
--                   score's `engagement` factor reads them.
ALTER TABLE sources DROP CONSTRAINT sources_kind_check;
ALTER TABLE sources ADD CONSTRAINT sources_kind_check
    CHECK (kind IN ('rss', 'atom', 'json_feed', 'reddit_listing', 'push',
                    'hn_search', 'json_api', 'mastodon', 'bluesky_search', 'x_search'));
ALTER TABLE sources
    ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(settings) = 'object' AND octet_length(settings::text) <= 16384),
    ADD COLUMN cursor text CHECK (length(cursor) <= 4096);

ALTER TABLE signals
    ADD COLUMN likes integer CHECK (likes >= 0),
    ADD COLUMN reposts integer CHECK (reposts >= 0),
    ADD COLUMN comments integer CHECK (comments >= 0),
    ADD COLUMN points integer;
