from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.source_kind import SourceKind
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="Source")



@_attrs_define
class Source:
    """ A source.

        Attributes:
            created_at (datetime.datetime): When it was created.
            enabled (bool): Whether it is polled (or accepts pushes).
            has_secret (bool): Whether pushed batches must be signed.
            id (UUID): Its id.
            kind (SourceKind): How a source's signals arrive.
            poll_every_secs (int): Seconds between polls.
            rate_limit_per_min (int): Requests a minute to its host, across the fleet.
            settings (Any): What an API kind asks (`{}` for feeds and push sources).
            tags (list[str]): Labels.
            updated_at (datetime.datetime): When it last changed.
            cursor (str | Unset): Where an API kind's next poll resumes (the kind's own JSON document, as text).
            host (str | Unset): The URL's host: the key of the fleet-wide rate limit and circuit breaker.
            last_error (str | Unset): Why the last fetch failed, if it did.
            last_polled_at (datetime.datetime | Unset): When it was last fetched.
            last_status (int | Unset): The HTTP status of the last fetch.
            next_poll_at (datetime.datetime | Unset): When the next poll is due.
            url (str | Unset): The feed's URL (none for push sources).
     """

    created_at: datetime.datetime
    enabled: bool
    has_secret: bool
    id: UUID
    kind: SourceKind
    poll_every_secs: int
    rate_limit_per_min: int
    settings: Any
    tags: list[str]
    updated_at: datetime.datetime
    cursor: str | Unset = UNSET
    host: str | Unset = UNSET
    last_error: str | Unset = UNSET
    last_polled_at: datetime.datetime | Unset = UNSET
    last_status: int | Unset = UNSET
    next_poll_at: datetime.datetime | Unset = UNSET
    url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        enabled = self.enabled

        has_secret = self.has_secret

        id = str(self.id)

        kind = self.kind.value

        poll_every_secs = self.poll_every_secs

        rate_limit_per_min = self.rate_limit_per_min

        settings = self.settings

        tags = self.tags



        updated_at = self.updated_at.isoformat()

        cursor = self.cursor

        host = self.host

        last_error = self.last_error

        last_polled_at: str | Unset = UNSET
        if not isinstance(self.last_polled_at, Unset):
            last_polled_at = self.last_polled_at.isoformat()

        last_status = self.last_status

        next_poll_at: str | Unset = UNSET
        if not isinstance(self.next_poll_at, Unset):
            next_poll_at = self.next_poll_at.isoformat()

        url = self.url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "enabled": enabled,
            "has_secret": has_secret,
            "id": id,
            "kind": kind,
            "poll_every_secs": poll_every_secs,
            "rate_limit_per_min": rate_limit_per_min,
            "settings": settings,
            "tags": tags,
            "updated_at": updated_at,
        })
        if cursor is not UNSET:
            field_dict["cursor"] = cursor
        if host is not UNSET:
            field_dict["host"] = host
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if last_polled_at is not UNSET:
            field_dict["last_polled_at"] = last_polled_at
        if last_status is not UNSET:
            field_dict["last_status"] = last_status
        if next_poll_at is not UNSET:
            field_dict["next_poll_at"] = next_poll_at
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        enabled = d.pop("enabled")

        has_secret = d.pop("has_secret")

        id = UUID(d.pop("id"))




        kind = SourceKind(d.pop("kind"))




        poll_every_secs = d.pop("poll_every_secs")

        rate_limit_per_min = d.pop("rate_limit_per_min")

        settings = d.pop("settings")

        tags = cast(list[str], d.pop("tags"))


        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        cursor = d.pop("cursor", UNSET)

        host = d.pop("host", UNSET)

        last_error = d.pop("last_error", UNSET)

        _last_polled_at = d.pop("last_polled_at", UNSET)
        last_polled_at: datetime.datetime | Unset
        if isinstance(_last_polled_at,  Unset):
            last_polled_at = UNSET
        else:
            last_polled_at = datetime.datetime.fromisoformat(_last_polled_at)




        last_status = d.pop("last_status", UNSET)

        _next_poll_at = d.pop("next_poll_at", UNSET)
        next_poll_at: datetime.datetime | Unset
        if isinstance(_next_poll_at,  Unset):
            next_poll_at = UNSET
        else:
            next_poll_at = datetime.datetime.fromisoformat(_next_poll_at)




        url = d.pop("url", UNSET)

        source = cls(
            created_at=created_at,
            enabled=enabled,
            has_secret=has_secret,
            id=id,
            kind=kind,
            poll_every_secs=poll_every_secs,
            rate_limit_per_min=rate_limit_per_min,
            settings=settings,
            tags=tags,
            updated_at=updated_at,
            cursor=cursor,
            host=host,
            last_error=last_error,
            last_polled_at=last_polled_at,
            last_status=last_status,
            next_poll_at=next_poll_at,
            url=url,
        )


        source.additional_properties = d
        return source

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
