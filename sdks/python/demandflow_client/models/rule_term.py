from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="RuleTerm")



@_attrs_define
class RuleTerm:
    """ A weighted term or phrase.

        Attributes:
            term (str): A word or phrase, matched on whole words, ignoring case and punctuation (1 to 200
                characters with at least one letter or digit).
            weight (int): Points it adds (negative terms: subtracts), 1 to 100.
            category (str | Unset): Positive terms only: the category it is evidence for (one of `categories`).
     """

    term: str
    weight: int
    category: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        term = self.term

        weight = self.weight

        category = self.category


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "term": term,
            "weight": weight,
        })
        if category is not UNSET:
            field_dict["category"] = category

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        term = d.pop("term")

        weight = d.pop("weight")

        category = d.pop("category", UNSET)

        rule_term = cls(
            term=term,
            weight=weight,
            category=category,
        )


        rule_term.additional_properties = d
        return rule_term

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
