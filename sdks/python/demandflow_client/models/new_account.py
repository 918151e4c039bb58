from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="NewAccount")



@_attrs_define
class NewAccount:
    """ An account to create.

        Attributes:
            access_token (str): An OAuth access token with the `write:statuses` and `write:media` scopes. Sealed; never
                returned.
            base_url (str): The server's https address, `https://mastodon.example` (no path).
            name (str): Its name, unique in the tenant (1 to 100 characters).
            rate_limit_per_min (int | Unset): Requests a minute across every worker (default 60: Mastodon's 300 per 5
                minutes).
            requires_approval (bool | Unset): Posts wait for `POST /posts/{id}/approve` (default false).
     """

    access_token: str
    base_url: str
    name: str
    rate_limit_per_min: int | Unset = UNSET
    requires_approval: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        access_token = self.access_token

        base_url = self.base_url

        name = self.name

        rate_limit_per_min = self.rate_limit_per_min

        requires_approval = self.requires_approval


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "access_token": access_token,
            "base_url": base_url,
            "name": name,
        })
        if rate_limit_per_min is not UNSET:
            field_dict["rate_limit_per_min"] = rate_limit_per_min
        if requires_approval is not UNSET:
            field_dict["requires_approval"] = requires_approval

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        access_token = d.pop("access_token")

        base_url = d.pop("base_url")

        name = d.pop("name")

        rate_limit_per_min = d.pop("rate_limit_per_min", UNSET)

        requires_approval = d.pop("requires_approval", UNSET)

        new_account = cls(
            access_token=access_token,
            base_url=base_url,
            name=name,
            rate_limit_per_min=rate_limit_per_min,
            requires_approval=requires_approval,
        )


        new_account.additional_properties = d
        return new_account

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
