from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.budget_period import BudgetPeriod
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="BudgetLeft")



@_attrs_define
class BudgetLeft:
    """ What a budget has left.

        Attributes:
            budget_id (UUID): The budget.
            limit_micros (int): Its limit, micro-dollars.
            period (BudgetPeriod): How long a budget's period lasts.
            period_end (datetime.datetime): When the period ends.
            remaining_micros (int): What reservations may still take this period, micro-dollars.
     """

    budget_id: UUID
    limit_micros: int
    period: BudgetPeriod
    period_end: datetime.datetime
    remaining_micros: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        budget_id = str(self.budget_id)

        limit_micros = self.limit_micros

        period = self.period.value

        period_end = self.period_end.isoformat()

        remaining_micros = self.remaining_micros


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "budget_id": budget_id,
            "limit_micros": limit_micros,
            "period": period,
            "period_end": period_end,
            "remaining_micros": remaining_micros,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        budget_id = UUID(d.pop("budget_id"))




        limit_micros = d.pop("limit_micros")

        period = BudgetPeriod(d.pop("period"))




        period_end = datetime.datetime.fromisoformat(d.pop("period_end"))




        remaining_micros = d.pop("remaining_micros")

        budget_left = cls(
            budget_id=budget_id,
            limit_micros=limit_micros,
            period=period,
            period_end=period_end,
            remaining_micros=remaining_micros,
        )


        budget_left.additional_properties = d
        return budget_left

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
