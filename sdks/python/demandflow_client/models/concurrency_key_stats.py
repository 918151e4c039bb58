from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="ConcurrencyKeyStats")



@_attrs_define
class ConcurrencyKeyStats:
    """ What one concurrency key is doing.

        Attributes:
            key (str): The key (`kind:<kind>` for an operator's per-kind cap).
            limit (int): Most jobs with it running at once.
            running (int): Jobs with it running now.
            waiting (int): Jobs with it waiting to run.
     """

    key: str
    limit: int
    running: int
    waiting: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        key = self.key

        limit = self.limit

        running = self.running

        waiting = self.waiting


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "key": key,
            "limit": limit,
            "running": running,
            "waiting": waiting,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        key = d.pop("key")

        limit = d.pop("limit")

        running = d.pop("running")

        waiting = d.pop("waiting")

        concurrency_key_stats = cls(
            key=key,
            limit=limit,
            running=running,
            waiting=waiting,
        )


        concurrency_key_stats.additional_properties = d
        return concurrency_key_stats

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
