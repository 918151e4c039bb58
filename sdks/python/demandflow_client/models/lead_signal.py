from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.lead_factor import LeadFactor





T = TypeVar("T", bound="LeadSignal")



@_attrs_define
class LeadSignal:
    """ One signal of a lead, with its own score.

        Attributes:
            factors (list[LeadFactor]): Its factors.
            score (int): Its score.
            scored_at (datetime.datetime): When it was scored.
            signal_id (UUID): The signal.
            category (str | Unset): The category it was scored with.
     """

    factors: list[LeadFactor]
    score: int
    scored_at: datetime.datetime
    signal_id: UUID
    category: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.lead_factor import LeadFactor # noqa: PLC0415
        factors = []
        for factors_item_data in self.factors:
            factors_item = factors_item_data.to_dict()
            factors.append(factors_item)



        score = self.score

        scored_at = self.scored_at.isoformat()

        signal_id = str(self.signal_id)

        category = self.category


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "factors": factors,
            "score": score,
            "scored_at": scored_at,
            "signal_id": signal_id,
        })
        if category is not UNSET:
            field_dict["category"] = category

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lead_factor import LeadFactor # noqa: PLC0415
        d = dict(src_dict)
        factors = []
        _factors = d.pop("factors")
        for factors_item_data in (_factors):
            factors_item = LeadFactor.from_dict(factors_item_data)



            factors.append(factors_item)


        score = d.pop("score")

        scored_at = datetime.datetime.fromisoformat(d.pop("scored_at"))




        signal_id = UUID(d.pop("signal_id"))




        category = d.pop("category", UNSET)

        lead_signal = cls(
            factors=factors,
            score=score,
            scored_at=scored_at,
            signal_id=signal_id,
            category=category,
        )


        lead_signal.additional_properties = d
        return lead_signal

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
