from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.engagement import Engagement





T = TypeVar("T", bound="PreviewItem")



@_attrs_define
class PreviewItem:
    """ An item of a preview, as a poll would store it.

        Attributes:
            engagement (Engagement): Likes, reposts, comments and points, where the source gives them.
            text (str): Plain text of the body.
            title (str): Plain-text title.
            author (str | Unset): Who wrote it.
            external_id (str | Unset): The API's id of the item.
            published_at (datetime.datetime | Unset): When it was published.
            url (str | Unset): The normalised link.
     """

    engagement: Engagement
    text: str
    title: str
    author: str | Unset = UNSET
    external_id: str | Unset = UNSET
    published_at: datetime.datetime | Unset = UNSET
    url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.engagement import Engagement # noqa: PLC0415
        engagement = self.engagement.to_dict()

        text = self.text

        title = self.title

        author = self.author

        external_id = self.external_id

        published_at: str | Unset = UNSET
        if not isinstance(self.published_at, Unset):
            published_at = self.published_at.isoformat()

        url = self.url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "engagement": engagement,
            "text": text,
            "title": title,
        })
        if author is not UNSET:
            field_dict["author"] = author
        if external_id is not UNSET:
            field_dict["external_id"] = external_id
        if published_at is not UNSET:
            field_dict["published_at"] = published_at
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.engagement import Engagement # noqa: PLC0415
        d = dict(src_dict)
        engagement = Engagement.from_dict(d.pop("engagement"))




        text = d.pop("text")

        title = d.pop("title")

        author = d.pop("author", UNSET)

        external_id = d.pop("external_id", UNSET)

        _published_at = d.pop("published_at", UNSET)
        published_at: datetime.datetime | Unset
        if isinstance(_published_at,  Unset):
            published_at = UNSET
        else:
            published_at = datetime.datetime.fromisoformat(_published_at)




        url = d.pop("url", UNSET)

        preview_item = cls(
            engagement=engagement,
            text=text,
            title=title,
            author=author,
            external_id=external_id,
            published_at=published_at,
            url=url,
        )


        preview_item.additional_properties = d
        return preview_item

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
