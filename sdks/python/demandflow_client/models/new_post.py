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

if TYPE_CHECKING:
  from ..models.new_post_media import NewPostMedia





T = TypeVar("T", bound="NewPost")



@_attrs_define
class NewPost:
    """ A post to create.

        Attributes:
            account_id (UUID): The account to post with.
            text (str): The status text: with the content warning at most 500 characters.
            language (str | Unset): ISO 639 code (`en`).
            media (list[NewPostMedia] | Unset): Up to four images.
            publish_at (datetime.datetime | Unset): When to publish (RFC 3339, at most a year ahead; none or past: at once).
            spoiler_text (str | Unset): A content warning shown before the text.
            visibility (str | Unset): `public` (default), `unlisted`, `private` or `direct`.
     """

    account_id: UUID
    text: str
    language: str | Unset = UNSET
    media: list[NewPostMedia] | Unset = UNSET
    publish_at: datetime.datetime | Unset = UNSET
    spoiler_text: str | Unset = UNSET
    visibility: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.new_post_media import NewPostMedia # noqa: PLC0415
        account_id = str(self.account_id)

        text = self.text

        language = self.language

        media: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.media, Unset):
            media = []
            for media_item_data in self.media:
                media_item = media_item_data.to_dict()
                media.append(media_item)



        publish_at: str | Unset = UNSET
        if not isinstance(self.publish_at, Unset):
            publish_at = self.publish_at.isoformat()

        spoiler_text = self.spoiler_text

        visibility = self.visibility


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "account_id": account_id,
            "text": text,
        })
        if language is not UNSET:
            field_dict["language"] = language
        if media is not UNSET:
            field_dict["media"] = media
        if publish_at is not UNSET:
            field_dict["publish_at"] = publish_at
        if spoiler_text is not UNSET:
            field_dict["spoiler_text"] = spoiler_text
        if visibility is not UNSET:
            field_dict["visibility"] = visibility

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.new_post_media import NewPostMedia # noqa: PLC0415
        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))




        text = d.pop("text")

        language = d.pop("language", UNSET)

        _media = d.pop("media", UNSET)
        media: list[NewPostMedia] | Unset = UNSET
        if _media is not UNSET:
            media = []
            for media_item_data in _media:
                media_item = NewPostMedia.from_dict(media_item_data)



                media.append(media_item)


        _publish_at = d.pop("publish_at", UNSET)
        publish_at: datetime.datetime | Unset
        if isinstance(_publish_at,  Unset):
            publish_at = UNSET
        else:
            publish_at = datetime.datetime.fromisoformat(_publish_at)




        spoiler_text = d.pop("spoiler_text", UNSET)

        visibility = d.pop("visibility", UNSET)

        new_post = cls(
            account_id=account_id,
            text=text,
            language=language,
            media=media,
            publish_at=publish_at,
            spoiler_text=spoiler_text,
            visibility=visibility,
        )


        new_post.additional_properties = d
        return new_post

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
