from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="Host")



@_attrs_define
class Host:
    """ A host's limiter and circuit breaker, shared by the fleet.

        Attributes:
            circuit (str): `closed`, `open` (requests wait) or `half_open` (one probe decides).
            consecutive_failures (int): Failures since the last success.
            host (str): The host (with a non-default port).
            next_slot_at (datetime.datetime): When the next request may go.
            rate_limit_per_min (int): The strictest per-minute limit of this tenant's sources on the host.
            requests_total (int): Requests made to it by the whole fleet.
            blocked_until (datetime.datetime | Unset): The host's `Retry-After`, honoured by every worker until then.
            last_error (str | Unset): What the last failure was.
            last_failure_at (datetime.datetime | Unset): The last failure.
            last_success_at (datetime.datetime | Unset): The last success.
            opened_at (datetime.datetime | Unset): When the circuit last opened.
     """

    circuit: str
    consecutive_failures: int
    host: str
    next_slot_at: datetime.datetime
    rate_limit_per_min: int
    requests_total: int
    blocked_until: datetime.datetime | Unset = UNSET
    last_error: str | Unset = UNSET
    last_failure_at: datetime.datetime | Unset = UNSET
    last_success_at: datetime.datetime | Unset = UNSET
    opened_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        circuit = self.circuit

        consecutive_failures = self.consecutive_failures

        host = self.host

        next_slot_at = self.next_slot_at.isoformat()

        rate_limit_per_min = self.rate_limit_per_min

        requests_total = self.requests_total

        blocked_until: str | Unset = UNSET
        if not isinstance(self.blocked_until, Unset):
            blocked_until = self.blocked_until.isoformat()

        last_error = self.last_error

        last_failure_at: str | Unset = UNSET
        if not isinstance(self.last_failure_at, Unset):
            last_failure_at = self.last_failure_at.isoformat()

        last_success_at: str | Unset = UNSET
        if not isinstance(self.last_success_at, Unset):
            last_success_at = self.last_success_at.isoformat()

        opened_at: str | Unset = UNSET
        if not isinstance(self.opened_at, Unset):
            opened_at = self.opened_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "circuit": circuit,
            "consecutive_failures": consecutive_failures,
            "host": host,
            "next_slot_at": next_slot_at,
            "rate_limit_per_min": rate_limit_per_min,
            "requests_total": requests_total,
        })
        if blocked_until is not UNSET:
            field_dict["blocked_until"] = blocked_until
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if last_failure_at is not UNSET:
            field_dict["last_failure_at"] = last_failure_at
        if last_success_at is not UNSET:
            field_dict["last_success_at"] = last_success_at
        if opened_at is not UNSET:
            field_dict["opened_at"] = opened_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        circuit = d.pop("circuit")

        consecutive_failures = d.pop("consecutive_failures")

        host = d.pop("host")

        next_slot_at = datetime.datetime.fromisoformat(d.pop("next_slot_at"))




        rate_limit_per_min = d.pop("rate_limit_per_min")

        requests_total = d.pop("requests_total")

        _blocked_until = d.pop("blocked_until", UNSET)
        blocked_until: datetime.datetime | Unset
        if isinstance(_blocked_until,  Unset):
            blocked_until = UNSET
        else:
            blocked_until = datetime.datetime.fromisoformat(_blocked_until)




        last_error = d.pop("last_error", UNSET)

        _last_failure_at = d.pop("last_failure_at", UNSET)
        last_failure_at: datetime.datetime | Unset
        if isinstance(_last_failure_at,  Unset):
            last_failure_at = UNSET
        else:
            last_failure_at = datetime.datetime.fromisoformat(_last_failure_at)




        _last_success_at = d.pop("last_success_at", UNSET)
        last_success_at: datetime.datetime | Unset
        if isinstance(_last_success_at,  Unset):
            last_success_at = UNSET
        else:
            last_success_at = datetime.datetime.fromisoformat(_last_success_at)




        _opened_at = d.pop("opened_at", UNSET)
        opened_at: datetime.datetime | Unset
        if isinstance(_opened_at,  Unset):
            opened_at = UNSET
        else:
            opened_at = datetime.datetime.fromisoformat(_opened_at)




        host = cls(
            circuit=circuit,
            consecutive_failures=consecutive_failures,
            host=host,
            next_slot_at=next_slot_at,
            rate_limit_per_min=rate_limit_per_min,
            requests_total=requests_total,
            blocked_until=blocked_until,
            last_error=last_error,
            last_failure_at=last_failure_at,
            last_success_at=last_success_at,
            opened_at=opened_at,
        )


        host.additional_properties = d
        return host

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
