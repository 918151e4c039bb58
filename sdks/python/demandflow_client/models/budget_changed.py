from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.budget import Budget





T = TypeVar("T", bound="BudgetChanged")



@_attrs_define
class BudgetChanged:
    """ A budget after a change, and the parked jobs the change put back in the queue.

        Attributes:
            budget (Budget): A budget and its current period.
            resumed_jobs (int): Jobs that were parked on it and are due again.
     """

    budget: Budget
    resumed_jobs: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.budget import Budget # noqa: PLC0415
        budget = self.budget.to_dict()

        resumed_jobs = self.resumed_jobs


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "budget": budget,
            "resumed_jobs": resumed_jobs,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.budget import Budget # noqa: PLC0415
        d = dict(src_dict)
        budget = Budget.from_dict(d.pop("budget"))




        resumed_jobs = d.pop("resumed_jobs")

        budget_changed = cls(
            budget=budget,
            resumed_jobs=resumed_jobs,
        )


        budget_changed.additional_properties = d
        return budget_changed

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
