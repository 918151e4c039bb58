from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="RuleThresholds")



@_attrs_define
class RuleThresholds:
    """ Where the keyword score decides alone.

        Attributes:
            irrelevant (int): A score at or below this is not (0 to 100, below `relevant`); in between goes to the LLM.
            relevant (int): A score at or above this is relevant (0 to 100).
     """

    irrelevant: int
    relevant: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        irrelevant = self.irrelevant

        relevant = self.relevant


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "irrelevant": irrelevant,
            "relevant": relevant,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        irrelevant = d.pop("irrelevant")

        relevant = d.pop("relevant")

        rule_thresholds = cls(
            irrelevant=irrelevant,
            relevant=relevant,
        )


        rule_thresholds.additional_properties = d
        return rule_thresholds

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
