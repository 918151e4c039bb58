from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="CostTotals")



@_attrs_define
class CostTotals:
    """ Sums over every entry the filters match (not just this page).

        Attributes:
            calls (int): Settled calls.
            completion_tokens (int): Completion tokens of settled calls.
            held_micros (int): Reserved by calls not yet settled or released.
            prompt_tokens (int): Prompt tokens of settled calls.
            spent_micros (int): Settled: the money spent.
     """

    calls: int
    completion_tokens: int
    held_micros: int
    prompt_tokens: int
    spent_micros: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        calls = self.calls

        completion_tokens = self.completion_tokens

        held_micros = self.held_micros

        prompt_tokens = self.prompt_tokens

        spent_micros = self.spent_micros


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "calls": calls,
            "completion_tokens": completion_tokens,
            "held_micros": held_micros,
            "prompt_tokens": prompt_tokens,
            "spent_micros": spent_micros,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        calls = d.pop("calls")

        completion_tokens = d.pop("completion_tokens")

        held_micros = d.pop("held_micros")

        prompt_tokens = d.pop("prompt_tokens")

        spent_micros = d.pop("spent_micros")

        cost_totals = cls(
            calls=calls,
            completion_tokens=completion_tokens,
            held_micros=held_micros,
            prompt_tokens=prompt_tokens,
            spent_micros=spent_micros,
        )


        cost_totals.additional_properties = d
        return cost_totals

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
