from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="StateCounts")



@_attrs_define
class StateCounts:
    """ Jobs of one kind, per state.

        Attributes:
            available (int): Ready to be claimed.
            cancelled (int): Cancelled.
            dead (int): Out of attempts.
            failed (int): Waiting for a retry.
            parked (int): Held back by an exhausted budget.
            running (int): Held by a worker.
            scheduled (int): Waiting for their `run_at`.
            succeeded (int): Done.
     """

    available: int
    cancelled: int
    dead: int
    failed: int
    parked: int
    running: int
    scheduled: int
    succeeded: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        available = self.available

        cancelled = self.cancelled

        dead = self.dead

        failed = self.failed

        parked = self.parked

        running = self.running

        scheduled = self.scheduled

        succeeded = self.succeeded


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "available": available,
            "cancelled": cancelled,
            "dead": dead,
            "failed": failed,
            "parked": parked,
            "running": running,
            "scheduled": scheduled,
            "succeeded": succeeded,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        available = d.pop("available")

        cancelled = d.pop("cancelled")

        dead = d.pop("dead")

        failed = d.pop("failed")

        parked = d.pop("parked")

        running = d.pop("running")

        scheduled = d.pop("scheduled")

        succeeded = d.pop("succeeded")

        state_counts = cls(
            available=available,
            cancelled=cancelled,
            dead=dead,
            failed=failed,
            parked=parked,
            running=running,
            scheduled=scheduled,
            succeeded=succeeded,
        )


        state_counts.additional_properties = d
        return state_counts

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
