from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="GdprErased")



@_attrs_define
class GdprErased:
    """ What a GDPR erase removed.

        Attributes:
            leads (int): Leads deleted for good.
            scrubbed (int): Job results, finished jobs' args and workflow step outputs scrubbed of the contact.
            signals (int): Signals deleted for good.
     """

    leads: int
    scrubbed: int
    signals: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        leads = self.leads

        scrubbed = self.scrubbed

        signals = self.signals


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "leads": leads,
            "scrubbed": scrubbed,
            "signals": signals,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        leads = d.pop("leads")

        scrubbed = d.pop("scrubbed")

        signals = d.pop("signals")

        gdpr_erased = cls(
            leads=leads,
            scrubbed=scrubbed,
            signals=signals,
        )


        gdpr_erased.additional_properties = d
        return gdpr_erased

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
