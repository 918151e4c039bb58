from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="Partner")



@_attrs_define
class Partner:
    """ A partner (never its credentials).

        Attributes:
            config (Any): URLs, format, templates, mappings, confirmation and the auth's kind.
            created_at (datetime.datetime): When it was created.
            currency (str): The currency of its prices.
            enabled (bool): Whether leads go to it.
            id (UUID): Its id.
            mode (str): `direct` or `ping_post`.
            name (str): Its name.
            postback_url (str): Where the partner sends its postbacks.
            rate_limit_per_min (int): Requests a minute.
            routing (Any): Which leads, in which order.
            updated_at (datetime.datetime): When it last changed.
            daily_cap (int | Unset): Leads a UTC day.
     """

    config: Any
    created_at: datetime.datetime
    currency: str
    enabled: bool
    id: UUID
    mode: str
    name: str
    postback_url: str
    rate_limit_per_min: int
    routing: Any
    updated_at: datetime.datetime
    daily_cap: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        config = self.config

        created_at = self.created_at.isoformat()

        currency = self.currency

        enabled = self.enabled

        id = str(self.id)

        mode = self.mode

        name = self.name

        postback_url = self.postback_url

        rate_limit_per_min = self.rate_limit_per_min

        routing = self.routing

        updated_at = self.updated_at.isoformat()

        daily_cap = self.daily_cap


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "config": config,
            "created_at": created_at,
            "currency": currency,
            "enabled": enabled,
            "id": id,
            "mode": mode,
            "name": name,
            "postback_url": postback_url,
            "rate_limit_per_min": rate_limit_per_min,
            "routing": routing,
            "updated_at": updated_at,
        })
        if daily_cap is not UNSET:
            field_dict["daily_cap"] = daily_cap

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        config = d.pop("config")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        currency = d.pop("currency")

        enabled = d.pop("enabled")

        id = UUID(d.pop("id"))




        mode = d.pop("mode")

        name = d.pop("name")

        postback_url = d.pop("postback_url")

        rate_limit_per_min = d.pop("rate_limit_per_min")

        routing = d.pop("routing")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        daily_cap = d.pop("daily_cap", UNSET)

        partner = cls(
            config=config,
            created_at=created_at,
            currency=currency,
            enabled=enabled,
            id=id,
            mode=mode,
            name=name,
            postback_url=postback_url,
            rate_limit_per_min=rate_limit_per_min,
            routing=routing,
            updated_at=updated_at,
            daily_cap=daily_cap,
        )


        partner.additional_properties = d
        return partner

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
