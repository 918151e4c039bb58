from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="LeadFactor")



@_attrs_define
class LeadFactor:
    """ One factor of a score: why the lead scored as it did.

        Attributes:
            detail (str): Where the value came from.
            name (str): `confidence`, `recency`, `engagement`, `contact` or `source`.
            points (float): What it added to the score: `100 × weight × value / Σ weights`.
            value (float): Its value, 0 to 1.
            weight (float): Its weight at scoring time.
     """

    detail: str
    name: str
    points: float
    value: float
    weight: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        detail = self.detail

        name = self.name

        points = self.points

        value = self.value

        weight = self.weight


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "detail": detail,
            "name": name,
            "points": points,
            "value": value,
            "weight": weight,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        detail = d.pop("detail")

        name = d.pop("name")

        points = d.pop("points")

        value = d.pop("value")

        weight = d.pop("weight")

        lead_factor = cls(
            detail=detail,
            name=name,
            points=points,
            value=value,
            weight=weight,
        )


        lead_factor.additional_properties = d
        return lead_factor

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
