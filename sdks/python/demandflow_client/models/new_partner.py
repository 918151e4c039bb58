from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="NewPartner")



@_attrs_define
class NewPartner:
    """ A partner to create (or, in a patch, the fields to change).

        Attributes:
            auth (Any | Unset): `{kind: "none"}`, `{kind: "header", header?, token}`, `{kind: "basic", username,
                password}` or `{kind: "hmac", secret}`.
            confirmation (str | Unset): `sync` (the post's answer confirms the sale) or `postback`.
            currency (str | Unset): ISO 4217 currency of its prices (default USD).
            daily_cap (int | Unset): Leads a UTC day (none: no cap).
            enabled (bool | Unset): Whether leads go to it (default true).
            format_ (str | Unset): `json` (default) or `form`.
            mapping (Any | Unset): How the post's answer is read: `{rules: [{when: {status, path, equals | in}, outcome,
                lead_id, price, bid_id, reason}], default}` (paths are JSON pointers or `$.a.b`).
            mode (str | Unset): `direct` (one post) or `ping_post` (an anonymised ping, then the post with the bid id).
            name (str | Unset): Its name, unique in the tenant (1 to 100 characters).
            ping_mapping (Any | Unset): How the ping's answer is read (default: as the post's).
            ping_template (Any | Unset): The ping's body (default: `score`, `category`, `region`).
            ping_url (str | Unset): Where pings go (`ping_post` only).
            post_url (str | Unset): Where leads are posted (https).
            rate_limit_per_min (int | Unset): Requests a minute across every worker (default 60).
            routing (Any | Unset): `{priority, min_score, max_score, categories, regions, exclusive}`.
            template (Any | Unset): The post's body: field name → template (`{{ lead.email }}`, `{{ contacts[0].value }}`,
                `{{ export.id }}`, `{{ bid_id }}`); nested objects for JSON. At most 50 fields, 8 KiB.
     """

    auth: Any | Unset = UNSET
    confirmation: str | Unset = UNSET
    currency: str | Unset = UNSET
    daily_cap: int | Unset = UNSET
    enabled: bool | Unset = UNSET
    format_: str | Unset = UNSET
    mapping: Any | Unset = UNSET
    mode: str | Unset = UNSET
    name: str | Unset = UNSET
    ping_mapping: Any | Unset = UNSET
    ping_template: Any | Unset = UNSET
    ping_url: str | Unset = UNSET
    post_url: str | Unset = UNSET
    rate_limit_per_min: int | Unset = UNSET
    routing: Any | Unset = UNSET
    template: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        auth = self.auth

        confirmation = self.confirmation

        currency = self.currency

        daily_cap = self.daily_cap

        enabled = self.enabled

        format_ = self.format_

        mapping = self.mapping

        mode = self.mode

        name = self.name

        ping_mapping = self.ping_mapping

        ping_template = self.ping_template

        ping_url = self.ping_url

        post_url = self.post_url

        rate_limit_per_min = self.rate_limit_per_min

        routing = self.routing

        template = self.template


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if auth is not UNSET:
            field_dict["auth"] = auth
        if confirmation is not UNSET:
            field_dict["confirmation"] = confirmation
        if currency is not UNSET:
            field_dict["currency"] = currency
        if daily_cap is not UNSET:
            field_dict["daily_cap"] = daily_cap
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if format_ is not UNSET:
            field_dict["format"] = format_
        if mapping is not UNSET:
            field_dict["mapping"] = mapping
        if mode is not UNSET:
            field_dict["mode"] = mode
        if name is not UNSET:
            field_dict["name"] = name
        if ping_mapping is not UNSET:
            field_dict["ping_mapping"] = ping_mapping
        if ping_template is not UNSET:
            field_dict["ping_template"] = ping_template
        if ping_url is not UNSET:
            field_dict["ping_url"] = ping_url
        if post_url is not UNSET:
            field_dict["post_url"] = post_url
        if rate_limit_per_min is not UNSET:
            field_dict["rate_limit_per_min"] = rate_limit_per_min
        if routing is not UNSET:
            field_dict["routing"] = routing
        if template is not UNSET:
            field_dict["template"] = template

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        auth = d.pop("auth", UNSET)

        confirmation = d.pop("confirmation", UNSET)

        currency = d.pop("currency", UNSET)

        daily_cap = d.pop("daily_cap", UNSET)

        enabled = d.pop("enabled", UNSET)

        format_ = d.pop("format", UNSET)

        mapping = d.pop("mapping", UNSET)

        mode = d.pop("mode", UNSET)

        name = d.pop("name", UNSET)

        ping_mapping = d.pop("ping_mapping", UNSET)

        ping_template = d.pop("ping_template", UNSET)

        ping_url = d.pop("ping_url", UNSET)

        post_url = d.pop("post_url", UNSET)

        rate_limit_per_min = d.pop("rate_limit_per_min", UNSET)

        routing = d.pop("routing", UNSET)

        template = d.pop("template", UNSET)

        new_partner = cls(
            auth=auth,
            confirmation=confirmation,
            currency=currency,
            daily_cap=daily_cap,
            enabled=enabled,
            format_=format_,
            mapping=mapping,
            mode=mode,
            name=name,
            ping_mapping=ping_mapping,
            ping_template=ping_template,
            ping_url=ping_url,
            post_url=post_url,
            rate_limit_per_min=rate_limit_per_min,
            routing=routing,
            template=template,
        )


        new_partner.additional_properties = d
        return new_partner

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
