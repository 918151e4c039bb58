from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="EconomicsRevenue")



@_attrs_define
class EconomicsRevenue:
    """ Revenue in one currency.

        Attributes:
            currency (str): ISO 4217.
            net_cents (int): Sales plus returns, integer cents.
            returns (int): Returns.
            returns_cents (int): What they took back, integer cents (zero or negative).
            sales (int): Sales.
            sales_cents (int): Their prices, integer cents.
     """

    currency: str
    net_cents: int
    returns: int
    returns_cents: int
    sales: int
    sales_cents: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        currency = self.currency

        net_cents = self.net_cents

        returns = self.returns

        returns_cents = self.returns_cents

        sales = self.sales

        sales_cents = self.sales_cents


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "currency": currency,
            "net_cents": net_cents,
            "returns": returns,
            "returns_cents": returns_cents,
            "sales": sales,
            "sales_cents": sales_cents,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        currency = d.pop("currency")

        net_cents = d.pop("net_cents")

        returns = d.pop("returns")

        returns_cents = d.pop("returns_cents")

        sales = d.pop("sales")

        sales_cents = d.pop("sales_cents")

        economics_revenue = cls(
            currency=currency,
            net_cents=net_cents,
            returns=returns,
            returns_cents=returns_cents,
            sales=sales,
            sales_cents=sales_cents,
        )


        economics_revenue.additional_properties = d
        return economics_revenue

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
