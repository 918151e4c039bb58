from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="Signal")



@_attrs_define
class Signal:
    """ A signal.

        Attributes:
            body_html (str): Sanitised HTML (no scripts, styles or event handlers).
            body_text (str): Plain text of the body.
            content_hash (str): Hex SHA-256 of the normalised content (unique per tenant).
            created_at (datetime.datetime): When it was ingested.
            id (UUID): Its id (UUIDv7: sorts by ingest time).
            source_id (UUID): The source it came from.
            state (str): Where it is in its life.
            title (str): Plain-text title.
            updated_at (datetime.datetime): When it last changed.
            author (str | Unset): Who wrote it.
            discard_reason (str | Unset): Why it was discarded: a gate (`too_short`, `link_density`, `repeated_chars`,
                `blocklist`, `language`), `near_duplicate`, or what the caller said.
            duplicate_of (UUID | Unset): For a near duplicate: the original it repeats.
            external_id (str | Unset): The feed's id of the entry.
            language (str | Unset): ISO 639-3 language code, when detected reliably.
            published_at (datetime.datetime | Unset): When it was published.
            url (str | Unset): The normalised link.
     """

    body_html: str
    body_text: str
    content_hash: str
    created_at: datetime.datetime
    id: UUID
    source_id: UUID
    state: str
    title: str
    updated_at: datetime.datetime
    author: str | Unset = UNSET
    discard_reason: str | Unset = UNSET
    duplicate_of: UUID | Unset = UNSET
    external_id: str | Unset = UNSET
    language: str | Unset = UNSET
    published_at: datetime.datetime | Unset = UNSET
    url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        body_html = self.body_html

        body_text = self.body_text

        content_hash = self.content_hash

        created_at = self.created_at.isoformat()

        id = str(self.id)

        source_id = str(self.source_id)

        state = self.state

        title = self.title

        updated_at = self.updated_at.isoformat()

        author = self.author

        discard_reason = self.discard_reason

        duplicate_of: str | Unset = UNSET
        if not isinstance(self.duplicate_of, Unset):
            duplicate_of = str(self.duplicate_of)

        external_id = self.external_id

        language = self.language

        published_at: str | Unset = UNSET
        if not isinstance(self.published_at, Unset):
            published_at = self.published_at.isoformat()

        url = self.url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "body_html": body_html,
            "body_text": body_text,
            "content_hash": content_hash,
            "created_at": created_at,
            "id": id,
            "source_id": source_id,
            "state": state,
            "title": title,
            "updated_at": updated_at,
        })
        if author is not UNSET:
            field_dict["author"] = author
        if discard_reason is not UNSET:
            field_dict["discard_reason"] = discard_reason
        if duplicate_of is not UNSET:
            field_dict["duplicate_of"] = duplicate_of
        if external_id is not UNSET:
            field_dict["external_id"] = external_id
        if language is not UNSET:
            field_dict["language"] = language
        if published_at is not UNSET:
            field_dict["published_at"] = published_at
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        body_html = d.pop("body_html")

        body_text = d.pop("body_text")

        content_hash = d.pop("content_hash")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        source_id = UUID(d.pop("source_id"))




        state = d.pop("state")

        title = d.pop("title")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        author = d.pop("author", UNSET)

        discard_reason = d.pop("discard_reason", UNSET)

        _duplicate_of = d.pop("duplicate_of", UNSET)
        duplicate_of: UUID | Unset
        if isinstance(_duplicate_of,  Unset):
            duplicate_of = UNSET
        else:
            duplicate_of = UUID(_duplicate_of)




        external_id = d.pop("external_id", UNSET)

        language = d.pop("language", UNSET)

        _published_at = d.pop("published_at", UNSET)
        published_at: datetime.datetime | Unset
        if isinstance(_published_at,  Unset):
            published_at = UNSET
        else:
            published_at = datetime.datetime.fromisoformat(_published_at)




        url = d.pop("url", UNSET)

        signal = cls(
            body_html=body_html,
            body_text=body_text,
            content_hash=content_hash,
            created_at=created_at,
            id=id,
            source_id=source_id,
            state=state,
            title=title,
            updated_at=updated_at,
            author=author,
            discard_reason=discard_reason,
            duplicate_of=duplicate_of,
            external_id=external_id,
            language=language,
            published_at=published_at,
            url=url,
        )


        signal.additional_properties = d
        return signal

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
