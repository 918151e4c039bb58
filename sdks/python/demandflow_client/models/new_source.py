from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.source_kind import SourceKind
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="NewSource")



@_attrs_define
class NewSource:
    """ A source to create.

        Attributes:
            kind (SourceKind): How a source's signals arrive.
            enabled (bool | Unset): Whether it is polled (default true).
            poll_every (Any | Unset): Seconds between polls (1 to 604800), or a duration like `"30s"`, `"15m"`, `"2h"`,
                `"1d"`
                (default 15 minutes).
            rate_limit_per_min (int | Unset): Requests a minute to the URL's host across the whole fleet, 1 to 6000 (default
                60).
            secret (str | Unset): `push`: the HMAC-SHA256 key pushed batches must be signed with; `x_search` (required):
                the API's bearer token; `reddit_search` (required): the Reddit app's
                `client_id:client_secret`, exchanged for short-lived tokens; `bluesky_search` with
                `settings.identifier` (required then): the account's app password, exchanged for a
                session. 16 to 200 characters, stored sealed, never shown again.
            settings (Any | Unset): API kinds only: what to ask. `hn_search`: `{"query", "tags"?}`; `x_search`:
                `{"query"}`; `mastodon`: `{"tag"}` or `{"query"}`; `bluesky_search`: `{"query",
                "lang"?, "identifier"?, "session_base"?}` (an identifier signs in with the app password
                in `secret`); `reddit_search`: `{"query", "subreddit"?, "auth_base"?}`; `json_api`:
                `{"items": "<JSON Pointer>", "fields": {"id", "title"?, "text"?, "author"?, "url"?,
                "published"?, "likes"?, "reposts"?, "comments"?, "points"?: "<JSON Pointer>"},
                "paging"?: {"cursor": "<JSON Pointer>", "param": "<query parameter>"}}` (see the README).
            tags (list[str] | Unset): Up to 20 labels of 1 to 50 characters.
            url (str | Unset): The feed's absolute http(s) URL (required, except for `push`, which has none). For an
                API kind, the API's base URL: `hn_search` defaults to `https://hn.algolia.com`,
                `bluesky_search` to `https://public.api.bsky.app` (with a session, to its
                `session_base`), `x_search` to `https://api.x.com`, `reddit_search` to
                `https://oauth.reddit.com`; `mastodon` needs its server, `json_api` its endpoint.
     """

    kind: SourceKind
    enabled: bool | Unset = UNSET
    poll_every: Any | Unset = UNSET
    rate_limit_per_min: int | Unset = UNSET
    secret: str | Unset = UNSET
    settings: Any | Unset = UNSET
    tags: list[str] | Unset = UNSET
    url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        enabled = self.enabled

        poll_every = self.poll_every

        rate_limit_per_min = self.rate_limit_per_min

        secret = self.secret

        settings = self.settings

        tags: list[str] | Unset = UNSET
        if not isinstance(self.tags, Unset):
            tags = self.tags



        url = self.url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "kind": kind,
        })
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if poll_every is not UNSET:
            field_dict["poll_every"] = poll_every
        if rate_limit_per_min is not UNSET:
            field_dict["rate_limit_per_min"] = rate_limit_per_min
        if secret is not UNSET:
            field_dict["secret"] = secret
        if settings is not UNSET:
            field_dict["settings"] = settings
        if tags is not UNSET:
            field_dict["tags"] = tags
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = SourceKind(d.pop("kind"))




        enabled = d.pop("enabled", UNSET)

        poll_every = d.pop("poll_every", UNSET)

        rate_limit_per_min = d.pop("rate_limit_per_min", UNSET)

        secret = d.pop("secret", UNSET)

        settings = d.pop("settings", UNSET)

        tags = cast(list[str], d.pop("tags", UNSET))


        url = d.pop("url", UNSET)

        new_source = cls(
            kind=kind,
            enabled=enabled,
            poll_every=poll_every,
            rate_limit_per_min=rate_limit_per_min,
            secret=secret,
            settings=settings,
            tags=tags,
            url=url,
        )


        new_source.additional_properties = d
        return new_source

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
