from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="BudgetAlert")



@_attrs_define
class BudgetAlert:
    """ A threshold a budget's current period crossed.

        Attributes:
            at (datetime.datetime): When.
            limit_micros (int): The limit then.
            spent_micros (int): Spent (with held, for a refused reservation) when it was recorded.
            threshold (int): 80 or 100 (percent of the limit).
     """

    at: datetime.datetime
    limit_micros: int
    spent_micros: int
    threshold: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        at = self.at.isoformat()

        limit_micros = self.limit_micros

        spent_micros = self.spent_micros

        threshold = self.threshold


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "at": at,
            "limit_micros": limit_micros,
            "spent_micros": spent_micros,
            "threshold": threshold,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))




        limit_micros = d.pop("limit_micros")

        spent_micros = d.pop("spent_micros")

        threshold = d.pop("threshold")

        budget_alert = cls(
            at=at,
            limit_micros=limit_micros,
            spent_micros=spent_micros,
            threshold=threshold,
        )


        budget_alert.additional_properties = d
        return budget_alert

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
