from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.lead_status import LeadStatus
from ..types import UNSET, Unset






T = TypeVar("T", bound="LeadStatusChange")



@_attrs_define
class LeadStatusChange:
    """ A move of a lead to another status.

        Attributes:
            status (LeadStatus): Where a lead is in its life: `new → contacted → qualified → exported`, `new → qualified`,
                any but `exported` to `rejected`, `rejected → new`, and `exported → returned` (a partner's
                return), from where it can be qualified or rejected again.
            reason (str | Unset): Why, at most 200 characters (kept in the audit log).
     """

    status: LeadStatus
    reason: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        reason = self.reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "status": status,
        })
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = LeadStatus(d.pop("status"))




        reason = d.pop("reason", UNSET)

        lead_status_change = cls(
            status=status,
            reason=reason,
        )


        lead_status_change.additional_properties = d
        return lead_status_change

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
