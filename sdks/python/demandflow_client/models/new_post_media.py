from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="NewPostMedia")



@_attrs_define
class NewPostMedia:
    """ An image to attach, given inline.

        Attributes:
            content_type (str): `image/png`, `image/jpeg`, `image/gif` or `image/webp` (checked against the bytes).
            data (str): The image, standard base64, at most 1 MiB decoded.
            description (str | Unset): Its description (alt text), at most 1500 characters.
     """

    content_type: str
    data: str
    description: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        content_type = self.content_type

        data = self.data

        description = self.description


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "content_type": content_type,
            "data": data,
        })
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        content_type = d.pop("content_type")

        data = d.pop("data")

        description = d.pop("description", UNSET)

        new_post_media = cls(
            content_type=content_type,
            data=data,
            description=description,
        )


        new_post_media.additional_properties = d
        return new_post_media

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
