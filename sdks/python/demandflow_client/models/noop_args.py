from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="NoopArgs")



@_attrs_define
class NoopArgs:
    """ Args of a `noop` job.

        Attributes:
            fail_attempts (int | Unset): Fail this many first attempts with a retryable error, 0 to 100.
            output (Any | Unset): The result to return instead of `{"slept_ms": n}`: any JSON up to 256 KiB (lets a
                workflow step produce, say, a list for the next step's `for_each`).
            sleep_ms (int | Unset): Sleep this long before succeeding, 0 to 600000 ms.
     """

    fail_attempts: int | Unset = UNSET
    output: Any | Unset = UNSET
    sleep_ms: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        fail_attempts = self.fail_attempts

        output = self.output

        sleep_ms = self.sleep_ms


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if fail_attempts is not UNSET:
            field_dict["fail_attempts"] = fail_attempts
        if output is not UNSET:
            field_dict["output"] = output
        if sleep_ms is not UNSET:
            field_dict["sleep_ms"] = sleep_ms

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        fail_attempts = d.pop("fail_attempts", UNSET)

        output = d.pop("output", UNSET)

        sleep_ms = d.pop("sleep_ms", UNSET)

        noop_args = cls(
            fail_attempts=fail_attempts,
            output=output,
            sleep_ms=sleep_ms,
        )


        noop_args.additional_properties = d
        return noop_args

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
