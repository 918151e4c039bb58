from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="EconomicsBreach")



@_attrs_define
class EconomicsBreach:
    """ A source in breach.

        Attributes:
            condition (str): `cost_per_confirmed_lead` or `negative_roi`.
            since (datetime.datetime): Since the judgement that found it.
            source_id (UUID): The source.
     """

    condition: str
    since: datetime.datetime
    source_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        condition = self.condition

        since = self.since.isoformat()

        source_id = str(self.source_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "condition": condition,
            "since": since,
            "source_id": source_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        condition = d.pop("condition")

        since = datetime.datetime.fromisoformat(d.pop("since"))




        source_id = UUID(d.pop("source_id"))




        economics_breach = cls(
            condition=condition,
            since=since,
            source_id=source_id,
        )


        economics_breach.additional_properties = d
        return economics_breach

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
