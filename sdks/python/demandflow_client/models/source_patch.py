from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="SourcePatch")



@_attrs_define
class SourcePatch:
    """ A change to a source: absent fields stay as they are; the kind never changes.

        Attributes:
            enabled (bool | Unset): Enable or disable.
            poll_every (Any | Unset): A new interval (seconds or a duration string).
            rate_limit_per_min (int | Unset): A new per-host limit.
            secret (None | str | Unset): `push`: a new signing key, or null to accept unsigned batches; `x_search`,
                `reddit_search`, `bluesky_search` with a session: new credentials.
            tags (list[str] | Unset): Replace the labels.
            url (str | Unset): A new URL (not for `push`); the conditional-GET state is forgotten and a poll is due.
     """

    enabled: bool | Unset = UNSET
    poll_every: Any | Unset = UNSET
    rate_limit_per_min: int | Unset = UNSET
    secret: None | str | Unset = UNSET
    tags: list[str] | Unset = UNSET
    url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        enabled = self.enabled

        poll_every = self.poll_every

        rate_limit_per_min = self.rate_limit_per_min

        secret: None | str | Unset
        if isinstance(self.secret, Unset):
            secret = UNSET
        else:
            secret = self.secret

        tags: list[str] | Unset = UNSET
        if not isinstance(self.tags, Unset):
            tags = self.tags



        url = self.url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if poll_every is not UNSET:
            field_dict["poll_every"] = poll_every
        if rate_limit_per_min is not UNSET:
            field_dict["rate_limit_per_min"] = rate_limit_per_min
        if secret is not UNSET:
            field_dict["secret"] = secret
        if tags is not UNSET:
            field_dict["tags"] = tags
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        enabled = d.pop("enabled", UNSET)

        poll_every = d.pop("poll_every", UNSET)

        rate_limit_per_min = d.pop("rate_limit_per_min", UNSET)

        def _parse_secret(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        secret = _parse_secret(d.pop("secret", UNSET))


        tags = cast(list[str], d.pop("tags", UNSET))


        url = d.pop("url", UNSET)

        source_patch = cls(
            enabled=enabled,
            poll_every=poll_every,
            rate_limit_per_min=rate_limit_per_min,
            secret=secret,
            tags=tags,
            url=url,
        )


        source_patch.additional_properties = d
        return source_patch

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
