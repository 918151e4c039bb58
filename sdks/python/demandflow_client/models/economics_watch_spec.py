from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="EconomicsWatchSpec")



@_attrs_define
class EconomicsWatchSpec:
    """ The thresholds a tenant's sources are judged against.

        Attributes:
            max_cost_per_confirmed_lead_micros (int | Unset): A ceiling on the cost per confirmed lead, micro-dollars: a
                source above it (or one that
                spent more than it without a confirmed lead) is in breach.
            min_cost_micros (int | Unset): Sources that spent less in the window are not judged; default 1,000,000 ($1.00).
            negative_roi (bool | Unset): Whether a source whose ROI is below zero is in breach (default false). One of this
                and the ceiling is required.
            window_days (int | Unset): The days judged, ending today (UTC): 1 to 90, default 7.
     """

    max_cost_per_confirmed_lead_micros: int | Unset = UNSET
    min_cost_micros: int | Unset = UNSET
    negative_roi: bool | Unset = UNSET
    window_days: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        max_cost_per_confirmed_lead_micros = self.max_cost_per_confirmed_lead_micros

        min_cost_micros = self.min_cost_micros

        negative_roi = self.negative_roi

        window_days = self.window_days


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if max_cost_per_confirmed_lead_micros is not UNSET:
            field_dict["max_cost_per_confirmed_lead_micros"] = max_cost_per_confirmed_lead_micros
        if min_cost_micros is not UNSET:
            field_dict["min_cost_micros"] = min_cost_micros
        if negative_roi is not UNSET:
            field_dict["negative_roi"] = negative_roi
        if window_days is not UNSET:
            field_dict["window_days"] = window_days

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        max_cost_per_confirmed_lead_micros = d.pop("max_cost_per_confirmed_lead_micros", UNSET)

        min_cost_micros = d.pop("min_cost_micros", UNSET)

        negative_roi = d.pop("negative_roi", UNSET)

        window_days = d.pop("window_days", UNSET)

        economics_watch_spec = cls(
            max_cost_per_confirmed_lead_micros=max_cost_per_confirmed_lead_micros,
            min_cost_micros=min_cost_micros,
            negative_roi=negative_roi,
            window_days=window_days,
        )


        economics_watch_spec.additional_properties = d
        return economics_watch_spec

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
