from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="DeliveryAttempt")



@_attrs_define
class DeliveryAttempt:
    """ One attempt of a delivery.

        Attributes:
            attempted_at (datetime.datetime): When.
            excerpt (str): The start of the answer (never a credential).
            latency_ms (int): How long the call took.
            outcome (str): `delivered`, `rate_limited`, `gone`, `rejected` or `failed`.
            status (int | Unset): The answer's HTTP (or SMTP) status; none when nothing answered.
     """

    attempted_at: datetime.datetime
    excerpt: str
    latency_ms: int
    outcome: str
    status: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        attempted_at = self.attempted_at.isoformat()

        excerpt = self.excerpt

        latency_ms = self.latency_ms

        outcome = self.outcome

        status = self.status


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attempted_at": attempted_at,
            "excerpt": excerpt,
            "latency_ms": latency_ms,
            "outcome": outcome,
        })
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempted_at = datetime.datetime.fromisoformat(d.pop("attempted_at"))




        excerpt = d.pop("excerpt")

        latency_ms = d.pop("latency_ms")

        outcome = d.pop("outcome")

        status = d.pop("status", UNSET)

        delivery_attempt = cls(
            attempted_at=attempted_at,
            excerpt=excerpt,
            latency_ms=latency_ms,
            outcome=outcome,
            status=status,
        )


        delivery_attempt.additional_properties = d
        return delivery_attempt

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
