from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.economics_figures import EconomicsFigures
  from ..models.economics_group import EconomicsGroup





T = TypeVar("T", bound="EconomicsReport")



@_attrs_define
class EconomicsReport:
    """ The economics report.

        Attributes:
            group_by (str): `source`, `category`, `ruleset`, `workflow` or `day`.
            groups (list[EconomicsGroup]): The groups, by key (absent key last).
            totals (EconomicsFigures): The figures of a group, or of all.
     """

    group_by: str
    groups: list[EconomicsGroup]
    totals: EconomicsFigures
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.economics_figures import EconomicsFigures # noqa: PLC0415
        from ..models.economics_group import EconomicsGroup # noqa: PLC0415
        group_by = self.group_by

        groups = []
        for groups_item_data in self.groups:
            groups_item = groups_item_data.to_dict()
            groups.append(groups_item)



        totals = self.totals.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "group_by": group_by,
            "groups": groups,
            "totals": totals,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.economics_figures import EconomicsFigures # noqa: PLC0415
        from ..models.economics_group import EconomicsGroup # noqa: PLC0415
        d = dict(src_dict)
        group_by = d.pop("group_by")

        groups = []
        _groups = d.pop("groups")
        for groups_item_data in (_groups):
            groups_item = EconomicsGroup.from_dict(groups_item_data)



            groups.append(groups_item)


        totals = EconomicsFigures.from_dict(d.pop("totals"))




        economics_report = cls(
            group_by=group_by,
            groups=groups,
            totals=totals,
        )


        economics_report.additional_properties = d
        return economics_report

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
