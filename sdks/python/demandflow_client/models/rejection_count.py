from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="RejectionCount")



@_attrs_define
class RejectionCount:
    """ Signals refused by one gate of one source.

        Attributes:
            count (int): How many.
            last_at (datetime.datetime): The latest.
            reason (str): The gate.
            source_id (UUID): The source.
     """

    count: int
    last_at: datetime.datetime
    reason: str
    source_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        count = self.count

        last_at = self.last_at.isoformat()

        reason = self.reason

        source_id = str(self.source_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "count": count,
            "last_at": last_at,
            "reason": reason,
            "source_id": source_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        count = d.pop("count")

        last_at = datetime.datetime.fromisoformat(d.pop("last_at"))




        reason = d.pop("reason")

        source_id = UUID(d.pop("source_id"))




        rejection_count = cls(
            count=count,
            last_at=last_at,
            reason=reason,
            source_id=source_id,
        )


        rejection_count.additional_properties = d
        return rejection_count

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
