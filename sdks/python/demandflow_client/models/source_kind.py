from enum import StrEnum

class SourceKind(StrEnum):
    ATOM = "atom"
    BLUESKY_SEARCH = "bluesky_search"
    HN_SEARCH = "hn_search"
    JSON_API = "json_api"
    JSON_FEED = "json_feed"
    MASTODON = "mastodon"
    PUSH = "push"
    REDDIT_LISTING = "reddit_listing"
    REDDIT_SEARCH = "reddit_search"
    RSS = "rss"
    X_SEARCH = "x_search"

    def __str__(self) -> str:
        return str(self.value)
