from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from uuid import UUID






T = TypeVar("T", bound="RevenueDay")



@_attrs_define
class RevenueDay:
    """ One partner's totals on one day in one currency.

        Attributes:
            currency (str): The currency.
            day (str): The UTC day.
            net_cents (int): Sales plus returns, in cents.
            partner_name (str): Its name.
            returns (int): Returns.
            returns_cents (int): What they took back, in cents (zero or negative).
            sales (int): Sales.
            sales_cents (int): Their prices, in cents.
            partner_id (UUID | Unset): The partner (none once deleted).
     """

    currency: str
    day: str
    net_cents: int
    partner_name: str
    returns: int
    returns_cents: int
    sales: int
    sales_cents: int
    partner_id: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        currency = self.currency

        day = self.day

        net_cents = self.net_cents

        partner_name = self.partner_name

        returns = self.returns

        returns_cents = self.returns_cents

        sales = self.sales

        sales_cents = self.sales_cents

        partner_id: str | Unset = UNSET
        if not isinstance(self.partner_id, Unset):
            partner_id = str(self.partner_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "currency": currency,
            "day": day,
            "net_cents": net_cents,
            "partner_name": partner_name,
            "returns": returns,
            "returns_cents": returns_cents,
            "sales": sales,
            "sales_cents": sales_cents,
        })
        if partner_id is not UNSET:
            field_dict["partner_id"] = partner_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        currency = d.pop("currency")

        day = d.pop("day")

        net_cents = d.pop("net_cents")

        partner_name = d.pop("partner_name")

        returns = d.pop("returns")

        returns_cents = d.pop("returns_cents")

        sales = d.pop("sales")

        sales_cents = d.pop("sales_cents")

        _partner_id = d.pop("partner_id", UNSET)
        partner_id: UUID | Unset
        if isinstance(_partner_id,  Unset):
            partner_id = UNSET
        else:
            partner_id = UUID(_partner_id)




        revenue_day = cls(
            currency=currency,
            day=day,
            net_cents=net_cents,
            partner_name=partner_name,
            returns=returns,
            returns_cents=returns_cents,
            sales=sales,
            sales_cents=sales_cents,
            partner_id=partner_id,
        )


        revenue_day.additional_properties = d
        return revenue_day

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
