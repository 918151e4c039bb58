from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.rules import Rules





T = TypeVar("T", bound="NewRuleset")



@_attrs_define
class NewRuleset:
    """ A ruleset to create.

        Attributes:
            name (str): 1 to 100 printable characters, unique in the tenant.
            rules (Rules): The rules of a ruleset version. The score is the sum of the weights of the terms found
                (each counted once) minus the negative terms', clamped to 0..100.
     """

    name: str
    rules: Rules
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.rules import Rules # noqa: PLC0415
        name = self.name

        rules = self.rules.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "name": name,
            "rules": rules,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.rules import Rules # noqa: PLC0415
        d = dict(src_dict)
        name = d.pop("name")

        rules = Rules.from_dict(d.pop("rules"))




        new_ruleset = cls(
            name=name,
            rules=rules,
        )


        new_ruleset.additional_properties = d
        return new_ruleset

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
