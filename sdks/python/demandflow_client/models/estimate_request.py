from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from uuid import UUID






T = TypeVar("T", bound="EstimateRequest")



@_attrs_define
class EstimateRequest:
    """ A batch to estimate.

        Attributes:
            expected_items (int): Items the batch will bring, 1 to 10000000.
            source_id (UUID): A source of the caller's tenant.
     """

    expected_items: int
    source_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        expected_items = self.expected_items

        source_id = str(self.source_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "expected_items": expected_items,
            "source_id": source_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        expected_items = d.pop("expected_items")

        source_id = UUID(d.pop("source_id"))




        estimate_request = cls(
            expected_items=expected_items,
            source_id=source_id,
        )


        estimate_request.additional_properties = d
        return estimate_request

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
