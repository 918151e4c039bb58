from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.signal_state import SignalState
from ..types import UNSET, Unset






T = TypeVar("T", bound="SignalTransition")



@_attrs_define
class SignalTransition:
    """ A move of a signal to another state.

        Attributes:
            state (SignalState): Where a signal is in its life: `new → classified → scored → alerted` (or `classified →
                alerted` when its verdict alone was alerted), or `discarded` / `expired` from any of the
                first three.
            reason (str | Unset): Why (kept as the discard reason when discarding), at most 200 characters.
     """

    state: SignalState
    reason: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        state = self.state.value

        reason = self.reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "state": state,
        })
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        state = SignalState(d.pop("state"))




        reason = d.pop("reason", UNSET)

        signal_transition = cls(
            state=state,
            reason=reason,
        )


        signal_transition.additional_properties = d
        return signal_transition

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
