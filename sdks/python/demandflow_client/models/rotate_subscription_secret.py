from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="RotateSubscriptionSecret")



@_attrs_define
class RotateSubscriptionSecret:
    """ Rotate the signing secret.

        Attributes:
            keep_previous (bool | Unset): Keep signing with the previous secret too, until the next rotation (default true),
                so
                the receiver can switch without missing a message.
     """

    keep_previous: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        keep_previous = self.keep_previous


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if keep_previous is not UNSET:
            field_dict["keep_previous"] = keep_previous

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        keep_previous = d.pop("keep_previous", UNSET)

        rotate_subscription_secret = cls(
            keep_previous=keep_previous,
        )


        rotate_subscription_secret.additional_properties = d
        return rotate_subscription_secret

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
