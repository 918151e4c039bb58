from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.budget_period import BudgetPeriod






T = TypeVar("T", bound="NewBudget")



@_attrs_define
class NewBudget:
    """ A budget to create.

        Attributes:
            limit_micros (int): The most a period may spend, micro-dollars (0 to 10^15).
            period (BudgetPeriod): How long a budget's period lasts.
            provider (str): The provider it limits, as paid jobs name it (`openai`, ...): 1 to 50 characters of
                `a-z 0-9 _ - .`.
     """

    limit_micros: int
    period: BudgetPeriod
    provider: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        limit_micros = self.limit_micros

        period = self.period.value

        provider = self.provider


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "limit_micros": limit_micros,
            "period": period,
            "provider": provider,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        limit_micros = d.pop("limit_micros")

        period = BudgetPeriod(d.pop("period"))




        provider = d.pop("provider")

        new_budget = cls(
            limit_micros=limit_micros,
            period=period,
            provider=provider,
        )


        new_budget.additional_properties = d
        return new_budget

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
