from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="LeadSettingsPatch")



@_attrs_define
class LeadSettingsPatch:
    """ A change to the scoring settings; absent fields stay as they are. At least one weight must
    stay above 0.

        Attributes:
            default_region (None | str | Unset): A region code, or null to forget it.
            recency_half_life_secs (int | Unset): 3600 to 31536000.
            weight_confidence (float | Unset): 0 to 100.
            weight_contact (float | Unset): 0 to 100.
            weight_engagement (float | Unset): 0 to 100.
            weight_recency (float | Unset): 0 to 100.
            weight_source (float | Unset): 0 to 100.
     """

    default_region: None | str | Unset = UNSET
    recency_half_life_secs: int | Unset = UNSET
    weight_confidence: float | Unset = UNSET
    weight_contact: float | Unset = UNSET
    weight_engagement: float | Unset = UNSET
    weight_recency: float | Unset = UNSET
    weight_source: float | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        default_region: None | str | Unset
        if isinstance(self.default_region, Unset):
            default_region = UNSET
        else:
            default_region = self.default_region

        recency_half_life_secs = self.recency_half_life_secs

        weight_confidence = self.weight_confidence

        weight_contact = self.weight_contact

        weight_engagement = self.weight_engagement

        weight_recency = self.weight_recency

        weight_source = self.weight_source


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if default_region is not UNSET:
            field_dict["default_region"] = default_region
        if recency_half_life_secs is not UNSET:
            field_dict["recency_half_life_secs"] = recency_half_life_secs
        if weight_confidence is not UNSET:
            field_dict["weight_confidence"] = weight_confidence
        if weight_contact is not UNSET:
            field_dict["weight_contact"] = weight_contact
        if weight_engagement is not UNSET:
            field_dict["weight_engagement"] = weight_engagement
        if weight_recency is not UNSET:
            field_dict["weight_recency"] = weight_recency
        if weight_source is not UNSET:
            field_dict["weight_source"] = weight_source

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_default_region(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        default_region = _parse_default_region(d.pop("default_region", UNSET))


        recency_half_life_secs = d.pop("recency_half_life_secs", UNSET)

        weight_confidence = d.pop("weight_confidence", UNSET)

        weight_contact = d.pop("weight_contact", UNSET)

        weight_engagement = d.pop("weight_engagement", UNSET)

        weight_recency = d.pop("weight_recency", UNSET)

        weight_source = d.pop("weight_source", UNSET)

        lead_settings_patch = cls(
            default_region=default_region,
            recency_half_life_secs=recency_half_life_secs,
            weight_confidence=weight_confidence,
            weight_contact=weight_contact,
            weight_engagement=weight_engagement,
            weight_recency=weight_recency,
            weight_source=weight_source,
        )


        lead_settings_patch.additional_properties = d
        return lead_settings_patch

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
