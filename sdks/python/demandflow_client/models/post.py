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






T = TypeVar("T", bound="Post")



@_attrs_define
class Post:
    """ A post.

        Attributes:
            account_id (UUID): The account.
            attempts (int): Status requests so far.
            created_at (datetime.datetime): When it was created.
            id (UUID): Its id (also its `Idempotency-Key` towards the server).
            media_count (int): How many images it has.
            state (str): `draft`, `scheduled`, `published` or `failed`.
            text (str): The status text.
            visibility (str): Who sees it.
            approved_at (datetime.datetime | Unset): When it was approved.
            approved_by (str | Unset): The key that approved it.
            error (str | Unset): Why it failed (or why the last attempt did).
            language (str | Unset): The language.
            publish_at (datetime.datetime | Unset): When it is to be published.
            published_at (datetime.datetime | Unset): When it was published.
            remote_id (str | Unset): The server's status id, once published.
            remote_url (str | Unset): The status's URL, once published.
            spoiler_text (str | Unset): The content warning.
     """

    account_id: UUID
    attempts: int
    created_at: datetime.datetime
    id: UUID
    media_count: int
    state: str
    text: str
    visibility: str
    approved_at: datetime.datetime | Unset = UNSET
    approved_by: str | Unset = UNSET
    error: str | Unset = UNSET
    language: str | Unset = UNSET
    publish_at: datetime.datetime | Unset = UNSET
    published_at: datetime.datetime | Unset = UNSET
    remote_id: str | Unset = UNSET
    remote_url: str | Unset = UNSET
    spoiler_text: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        account_id = str(self.account_id)

        attempts = self.attempts

        created_at = self.created_at.isoformat()

        id = str(self.id)

        media_count = self.media_count

        state = self.state

        text = self.text

        visibility = self.visibility

        approved_at: str | Unset = UNSET
        if not isinstance(self.approved_at, Unset):
            approved_at = self.approved_at.isoformat()

        approved_by = self.approved_by

        error = self.error

        language = self.language

        publish_at: str | Unset = UNSET
        if not isinstance(self.publish_at, Unset):
            publish_at = self.publish_at.isoformat()

        published_at: str | Unset = UNSET
        if not isinstance(self.published_at, Unset):
            published_at = self.published_at.isoformat()

        remote_id = self.remote_id

        remote_url = self.remote_url

        spoiler_text = self.spoiler_text


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "account_id": account_id,
            "attempts": attempts,
            "created_at": created_at,
            "id": id,
            "media_count": media_count,
            "state": state,
            "text": text,
            "visibility": visibility,
        })
        if approved_at is not UNSET:
            field_dict["approved_at"] = approved_at
        if approved_by is not UNSET:
            field_dict["approved_by"] = approved_by
        if error is not UNSET:
            field_dict["error"] = error
        if language is not UNSET:
            field_dict["language"] = language
        if publish_at is not UNSET:
            field_dict["publish_at"] = publish_at
        if published_at is not UNSET:
            field_dict["published_at"] = published_at
        if remote_id is not UNSET:
            field_dict["remote_id"] = remote_id
        if remote_url is not UNSET:
            field_dict["remote_url"] = remote_url
        if spoiler_text is not UNSET:
            field_dict["spoiler_text"] = spoiler_text

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))




        attempts = d.pop("attempts")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        media_count = d.pop("media_count")

        state = d.pop("state")

        text = d.pop("text")

        visibility = d.pop("visibility")

        _approved_at = d.pop("approved_at", UNSET)
        approved_at: datetime.datetime | Unset
        if isinstance(_approved_at,  Unset):
            approved_at = UNSET
        else:
            approved_at = datetime.datetime.fromisoformat(_approved_at)




        approved_by = d.pop("approved_by", UNSET)

        error = d.pop("error", UNSET)

        language = d.pop("language", UNSET)

        _publish_at = d.pop("publish_at", UNSET)
        publish_at: datetime.datetime | Unset
        if isinstance(_publish_at,  Unset):
            publish_at = UNSET
        else:
            publish_at = datetime.datetime.fromisoformat(_publish_at)




        _published_at = d.pop("published_at", UNSET)
        published_at: datetime.datetime | Unset
        if isinstance(_published_at,  Unset):
            published_at = UNSET
        else:
            published_at = datetime.datetime.fromisoformat(_published_at)




        remote_id = d.pop("remote_id", UNSET)

        remote_url = d.pop("remote_url", UNSET)

        spoiler_text = d.pop("spoiler_text", UNSET)

        post = cls(
            account_id=account_id,
            attempts=attempts,
            created_at=created_at,
            id=id,
            media_count=media_count,
            state=state,
            text=text,
            visibility=visibility,
            approved_at=approved_at,
            approved_by=approved_by,
            error=error,
            language=language,
            publish_at=publish_at,
            published_at=published_at,
            remote_id=remote_id,
            remote_url=remote_url,
            spoiler_text=spoiler_text,
        )


        post.additional_properties = d
        return post

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
