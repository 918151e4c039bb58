from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="PushItem")



@_attrs_define
class PushItem:
    """ One pushed item: a title or content is required.

        Attributes:
            author (str | Unset): Who wrote it.
            content (str | Unset): The content, HTML or text (sanitised on ingest).
            external_id (str | Unset): The sender's id of the item.
            published_at (datetime.datetime | Unset): When it was published.
            title (str | Unset): The title (HTML is reduced to text).
            url (str | Unset): An absolute http(s) link.
     """

    author: str | Unset = UNSET
    content: str | Unset = UNSET
    external_id: str | Unset = UNSET
    published_at: datetime.datetime | Unset = UNSET
    title: str | Unset = UNSET
    url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        author = self.author

        content = self.content

        external_id = self.external_id

        published_at: str | Unset = UNSET
        if not isinstance(self.published_at, Unset):
            published_at = self.published_at.isoformat()

        title = self.title

        url = self.url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if author is not UNSET:
            field_dict["author"] = author
        if content is not UNSET:
            field_dict["content"] = content
        if external_id is not UNSET:
            field_dict["external_id"] = external_id
        if published_at is not UNSET:
            field_dict["published_at"] = published_at
        if title is not UNSET:
            field_dict["title"] = title
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        author = d.pop("author", UNSET)

        content = d.pop("content", UNSET)

        external_id = d.pop("external_id", UNSET)

        _published_at = d.pop("published_at", UNSET)
        published_at: datetime.datetime | Unset
        if isinstance(_published_at,  Unset):
            published_at = UNSET
        else:
            published_at = datetime.datetime.fromisoformat(_published_at)




        title = d.pop("title", UNSET)

        url = d.pop("url", UNSET)

        push_item = cls(
            author=author,
            content=content,
            external_id=external_id,
            published_at=published_at,
            title=title,
            url=url,
        )


        push_item.additional_properties = d
        return push_item

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
