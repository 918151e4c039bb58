from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.economics_figures import EconomicsFigures





T = TypeVar("T", bound="EconomicsGroup")



@_attrs_define
class EconomicsGroup:
    """ One group of the report.

        Attributes:
            figures (EconomicsFigures): The figures of a group, or of all.
            key (str | Unset): The source, ruleset or workflow id, the category, or the UTC day; absent for what has
                none (signals not yet classified have no category, work outside workflows no workflow).
            name (str | Unset): The source's URL (or kind), the ruleset's or the workflow's name, while it exists.
     """

    figures: EconomicsFigures
    key: str | Unset = UNSET
    name: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.economics_figures import EconomicsFigures # noqa: PLC0415
        figures = self.figures.to_dict()

        key = self.key

        name = self.name


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "figures": figures,
        })
        if key is not UNSET:
            field_dict["key"] = key
        if name is not UNSET:
            field_dict["name"] = name

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.economics_figures import EconomicsFigures # noqa: PLC0415
        d = dict(src_dict)
        figures = EconomicsFigures.from_dict(d.pop("figures"))




        key = d.pop("key", UNSET)

        name = d.pop("name", UNSET)

        economics_group = cls(
            figures=figures,
            key=key,
            name=name,
        )


        economics_group.additional_properties = d
        return economics_group

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
