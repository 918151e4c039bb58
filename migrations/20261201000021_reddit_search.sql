-- reddit_search: Reddit search through its OAuth API (issue 19), beside reddit_listing's
-- public listings. Its `secret` is the app's client credentials, sealed like every secret;
-- its access tokens live only in the workers' memory, never in a table.
ALTER TABLE sources DROP CONSTRAINT sources_kind_check;
ALTER TABLE sources ADD CONSTRAINT sources_kind_check
    CHECK (kind IN ('rss', 'atom', 'json_feed', 'reddit_listing', 'push',
                    'hn_search', 'json_api', 'mastodon', 'bluesky_search', 'x_search',
                    'reddit_search'));
