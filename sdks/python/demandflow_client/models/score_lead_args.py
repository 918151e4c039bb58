from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from uuid import UUID






T = TypeVar("T", bound="ScoreLeadArgs")



@_attrs_define
class ScoreLeadArgs:
    """ Args of a `score_lead` job.

        Attributes:
            signal_id (UUID): A signal of the caller's tenant.
            category (str | Unset): The classifier's category, 1 to 100 characters.
            confidence (float | Unset): The classifier's confidence, 0 to 1 (absent counts as 0).
     """

    signal_id: UUID
    category: str | Unset = UNSET
    confidence: float | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        signal_id = str(self.signal_id)

        category = self.category

        confidence = self.confidence


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "signal_id": signal_id,
        })
        if category is not UNSET:
            field_dict["category"] = category
        if confidence is not UNSET:
            field_dict["confidence"] = confidence

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        signal_id = UUID(d.pop("signal_id"))




        category = d.pop("category", UNSET)

        confidence = d.pop("confidence", UNSET)

        score_lead_args = cls(
            signal_id=signal_id,
            category=category,
            confidence=confidence,
        )


        score_lead_args.additional_properties = d
        return score_lead_args

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
