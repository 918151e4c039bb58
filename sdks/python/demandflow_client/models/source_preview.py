from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.preview_item import PreviewItem





T = TypeVar("T", bound="SourcePreview")



@_attrs_define
class SourcePreview:
    """ What a sample fetch found (nothing was stored).

        Attributes:
            items (list[PreviewItem]): The first 20 of them, mapped.
            status (int): The API's HTTP status.
            total_items (int): Items in the answer.
            url (str): The URL asked (the source's first poll).
            cursor (str | Unset): The cursor a poll would store after this answer.
     """

    items: list[PreviewItem]
    status: int
    total_items: int
    url: str
    cursor: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.preview_item import PreviewItem # noqa: PLC0415
        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)



        status = self.status

        total_items = self.total_items

        url = self.url

        cursor = self.cursor


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "items": items,
            "status": status,
            "total_items": total_items,
            "url": url,
        })
        if cursor is not UNSET:
            field_dict["cursor"] = cursor

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.preview_item import PreviewItem # noqa: PLC0415
        d = dict(src_dict)
        items = []
        _items = d.pop("items")
        for items_item_data in (_items):
            items_item = PreviewItem.from_dict(items_item_data)



            items.append(items_item)


        status = d.pop("status")

        total_items = d.pop("total_items")

        url = d.pop("url")

        cursor = d.pop("cursor", UNSET)

        source_preview = cls(
            items=items,
            status=status,
            total_items=total_items,
            url=url,
            cursor=cursor,
        )


        source_preview.additional_properties = d
        return source_preview

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
