from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.state_counts import StateCounts





T = TypeVar("T", bound="QueueStats")



@_attrs_define
class QueueStats:
    """ One queue (job kind) of the caller's tenant.

        Attributes:
            completed_last_minute (int): Jobs that succeeded in the last minute.
            counts (StateCounts): Jobs of one kind, per state.
            kind (str): The kind.
            oldest_available_age_secs (float | Unset): Seconds the oldest runnable job has waited; null when none waits.
     """

    completed_last_minute: int
    counts: StateCounts
    kind: str
    oldest_available_age_secs: float | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.state_counts import StateCounts # noqa: PLC0415
        completed_last_minute = self.completed_last_minute

        counts = self.counts.to_dict()

        kind = self.kind

        oldest_available_age_secs = self.oldest_available_age_secs


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "completed_last_minute": completed_last_minute,
            "counts": counts,
            "kind": kind,
        })
        if oldest_available_age_secs is not UNSET:
            field_dict["oldest_available_age_secs"] = oldest_available_age_secs

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.state_counts import StateCounts # noqa: PLC0415
        d = dict(src_dict)
        completed_last_minute = d.pop("completed_last_minute")

        counts = StateCounts.from_dict(d.pop("counts"))




        kind = d.pop("kind")

        oldest_available_age_secs = d.pop("oldest_available_age_secs", UNSET)

        queue_stats = cls(
            completed_last_minute=completed_last_minute,
            counts=counts,
            kind=kind,
            oldest_available_age_secs=oldest_available_age_secs,
        )


        queue_stats.additional_properties = d
        return queue_stats

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
