from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="NewDestination")



@_attrs_define
class NewDestination:
    """ A destination to create.

        Attributes:
            kind (str): `webhook`, `slack`, `discord`, `telegram` or `email`.
            name (str): Its name, unique in the tenant (1 to 100 characters).
            settings (Any): The kind's settings. `webhook`: `{url, signing_secret?}` (a `whsec_…` secret is made when
                none is given); `slack` and `discord`: `{webhook_url}`; `telegram`: `{bot_token, chat_id,
                base_url?}`; `email`: `{smtp_host, smtp_port?, tls? (starttls, tls, none), username?,
                password?, from, to: [...]}`.
            rate_limit_per_min (int | Unset): Sends a minute across every worker (default: the service's documented pace).
     """

    kind: str
    name: str
    settings: Any
    rate_limit_per_min: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        name = self.name

        settings = self.settings

        rate_limit_per_min = self.rate_limit_per_min


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "kind": kind,
            "name": name,
            "settings": settings,
        })
        if rate_limit_per_min is not UNSET:
            field_dict["rate_limit_per_min"] = rate_limit_per_min

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = d.pop("kind")

        name = d.pop("name")

        settings = d.pop("settings")

        rate_limit_per_min = d.pop("rate_limit_per_min", UNSET)

        new_destination = cls(
            kind=kind,
            name=name,
            settings=settings,
            rate_limit_per_min=rate_limit_per_min,
        )


        new_destination.additional_properties = d
        return new_destination

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
