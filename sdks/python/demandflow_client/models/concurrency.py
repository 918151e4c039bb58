from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.over_limit import OverLimit
from ..types import UNSET, Unset






T = TypeVar("T", bound="Concurrency")



@_attrs_define
class Concurrency:
    """ A concurrency key and its limit.

        Attributes:
            key (str): The key (per tenant), e.g. a source or customer id; 1 to 200 printable characters, not
                starting with `kind:` (the operator's per-kind limits use those).
            limit (int): Most jobs with the key running at once, 1 to 10000.
            on_limit (OverLimit | Unset): What an enqueue does when its concurrency key is full.
     """

    key: str
    limit: int
    on_limit: OverLimit | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        key = self.key

        limit = self.limit

        on_limit: str | Unset = UNSET
        if not isinstance(self.on_limit, Unset):
            on_limit = self.on_limit.value



        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "key": key,
            "limit": limit,
        })
        if on_limit is not UNSET:
            field_dict["on_limit"] = on_limit

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        key = d.pop("key")

        limit = d.pop("limit")

        _on_limit = d.pop("on_limit", UNSET)
        on_limit: OverLimit | Unset
        if isinstance(_on_limit,  Unset):
            on_limit = UNSET
        else:
            on_limit = OverLimit(_on_limit)




        concurrency = cls(
            key=key,
            limit=limit,
            on_limit=on_limit,
        )


        concurrency.additional_properties = d
        return concurrency

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
