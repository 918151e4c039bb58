from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.rule_term import RuleTerm
  from ..models.rule_thresholds import RuleThresholds





T = TypeVar("T", bound="Rules")



@_attrs_define
class Rules:
    """ The rules of a ruleset version. The score is the sum of the weights of the terms found
    (each counted once) minus the negative terms', clamped to 0..100.

        Attributes:
            categories (list[str]): 1 to 50 category names.
            terms (list[RuleTerm]): 1 to 5000 terms that add to the score.
            thresholds (RuleThresholds): Where the keyword score decides alone.
            instructions (str | Unset): Extra instructions for the LLM (up to 2000 characters).
            negative (list[RuleTerm] | Unset): Up to 5000 terms that subtract from it.
     """

    categories: list[str]
    terms: list[RuleTerm]
    thresholds: RuleThresholds
    instructions: str | Unset = UNSET
    negative: list[RuleTerm] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.rule_term import RuleTerm # noqa: PLC0415
        from ..models.rule_thresholds import RuleThresholds # noqa: PLC0415
        categories = self.categories



        terms = []
        for terms_item_data in self.terms:
            terms_item = terms_item_data.to_dict()
            terms.append(terms_item)



        thresholds = self.thresholds.to_dict()

        instructions = self.instructions

        negative: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.negative, Unset):
            negative = []
            for negative_item_data in self.negative:
                negative_item = negative_item_data.to_dict()
                negative.append(negative_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "categories": categories,
            "terms": terms,
            "thresholds": thresholds,
        })
        if instructions is not UNSET:
            field_dict["instructions"] = instructions
        if negative is not UNSET:
            field_dict["negative"] = negative

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.rule_term import RuleTerm # noqa: PLC0415
        from ..models.rule_thresholds import RuleThresholds # noqa: PLC0415
        d = dict(src_dict)
        categories = cast(list[str], d.pop("categories"))


        terms = []
        _terms = d.pop("terms")
        for terms_item_data in (_terms):
            terms_item = RuleTerm.from_dict(terms_item_data)



            terms.append(terms_item)


        thresholds = RuleThresholds.from_dict(d.pop("thresholds"))




        instructions = d.pop("instructions", UNSET)

        _negative = d.pop("negative", UNSET)
        negative: list[RuleTerm] | Unset = UNSET
        if _negative is not UNSET:
            negative = []
            for negative_item_data in _negative:
                negative_item = RuleTerm.from_dict(negative_item_data)



                negative.append(negative_item)


        rules = cls(
            categories=categories,
            terms=terms,
            thresholds=thresholds,
            instructions=instructions,
            negative=negative,
        )


        rules.additional_properties = d
        return rules

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
