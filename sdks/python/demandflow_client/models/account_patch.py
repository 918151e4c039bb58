from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="AccountPatch")



@_attrs_define
class AccountPatch:
    """ A change of an account; every field is optional.

        Attributes:
            access_token (str | Unset): A new access token.
            base_url (str | Unset): A new server address.
            enabled (bool | Unset): Enable or disable (enabling clears the reason it was disabled).
            name (str | Unset): A new name.
            rate_limit_per_min (int | Unset): A new pace.
            requires_approval (bool | Unset): Whether posts wait for an approval.
     """

    access_token: str | Unset = UNSET
    base_url: str | Unset = UNSET
    enabled: bool | Unset = UNSET
    name: str | Unset = UNSET
    rate_limit_per_min: int | Unset = UNSET
    requires_approval: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        access_token = self.access_token

        base_url = self.base_url

        enabled = self.enabled

        name = self.name

        rate_limit_per_min = self.rate_limit_per_min

        requires_approval = self.requires_approval


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if access_token is not UNSET:
            field_dict["access_token"] = access_token
        if base_url is not UNSET:
            field_dict["base_url"] = base_url
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if name is not UNSET:
            field_dict["name"] = name
        if rate_limit_per_min is not UNSET:
            field_dict["rate_limit_per_min"] = rate_limit_per_min
        if requires_approval is not UNSET:
            field_dict["requires_approval"] = requires_approval

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        access_token = d.pop("access_token", UNSET)

        base_url = d.pop("base_url", UNSET)

        enabled = d.pop("enabled", UNSET)

        name = d.pop("name", UNSET)

        rate_limit_per_min = d.pop("rate_limit_per_min", UNSET)

        requires_approval = d.pop("requires_approval", UNSET)

        account_patch = cls(
            access_token=access_token,
            base_url=base_url,
            enabled=enabled,
            name=name,
            rate_limit_per_min=rate_limit_per_min,
            requires_approval=requires_approval,
        )


        account_patch.additional_properties = d
        return account_patch

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
