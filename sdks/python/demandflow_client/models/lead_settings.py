from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="LeadSettings")



@_attrs_define
class LeadSettings:
    """ A tenant's scoring settings.

        Attributes:
            recency_half_life_secs (int): Age in seconds at which recency is one half (3600 to 31536000; default 7 days).
            weight_confidence (float): Weight of the classifier's confidence (0 to 100; default 40).
            weight_contact (float): Weight of a valid email or phone number being present (default 25).
            weight_engagement (float): Weight of engagement (default 0: ingest keeps no engagement yet, so it is always 0).
            weight_recency (float): Weight of recency (default 20).
            weight_source (float): Weight of the source's record of qualified against rejected leads (default 15).
            default_region (str | Unset): ISO 3166 region of phone numbers written without a country code (`US`, `GB`);
                without
                it such numbers are not taken as contacts.
     """

    recency_half_life_secs: int
    weight_confidence: float
    weight_contact: float
    weight_engagement: float
    weight_recency: float
    weight_source: float
    default_region: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        recency_half_life_secs = self.recency_half_life_secs

        weight_confidence = self.weight_confidence

        weight_contact = self.weight_contact

        weight_engagement = self.weight_engagement

        weight_recency = self.weight_recency

        weight_source = self.weight_source

        default_region = self.default_region


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "recency_half_life_secs": recency_half_life_secs,
            "weight_confidence": weight_confidence,
            "weight_contact": weight_contact,
            "weight_engagement": weight_engagement,
            "weight_recency": weight_recency,
            "weight_source": weight_source,
        })
        if default_region is not UNSET:
            field_dict["default_region"] = default_region

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        recency_half_life_secs = d.pop("recency_half_life_secs")

        weight_confidence = d.pop("weight_confidence")

        weight_contact = d.pop("weight_contact")

        weight_engagement = d.pop("weight_engagement")

        weight_recency = d.pop("weight_recency")

        weight_source = d.pop("weight_source")

        default_region = d.pop("default_region", UNSET)

        lead_settings = cls(
            recency_half_life_secs=recency_half_life_secs,
            weight_confidence=weight_confidence,
            weight_contact=weight_contact,
            weight_engagement=weight_engagement,
            weight_recency=weight_recency,
            weight_source=weight_source,
            default_region=default_region,
        )


        lead_settings.additional_properties = d
        return lead_settings

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
