from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.forecast_basis import ForecastBasis
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.expected_revenue import ExpectedRevenue





T = TypeVar("T", bound="Forecast")



@_attrs_define
class Forecast:
    """ What a batch is expected to bring.

        Attributes:
            assumptions (list[str]): What the figures take for granted.
            basis (ForecastBasis): Whose history a forecast is drawn from.
            expected_confirmed_leads (int): Confirmed leads expected (rounded down).
            expected_leads (int): Leads expected (rounded up).
            expected_revenue (list[ExpectedRevenue]): Per currency: the history's net revenue per signal times the items,
                rounded.
            history_confirmed_leads (int): Leads a partner confirmed, of that history.
            history_leads (int): Leads of that history.
            history_signals (int): Signals of that history.
            leads_per_item (float): Leads per item (0 to 1).
            cost_per_lead_micros (int | Unset): `expected_cost_micros / expected_leads`, rounded; absent when no lead is
                expected.
     """

    assumptions: list[str]
    basis: ForecastBasis
    expected_confirmed_leads: int
    expected_leads: int
    expected_revenue: list[ExpectedRevenue]
    history_confirmed_leads: int
    history_leads: int
    history_signals: int
    leads_per_item: float
    cost_per_lead_micros: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.expected_revenue import ExpectedRevenue # noqa: PLC0415
        assumptions = self.assumptions



        basis = self.basis.value

        expected_confirmed_leads = self.expected_confirmed_leads

        expected_leads = self.expected_leads

        expected_revenue = []
        for expected_revenue_item_data in self.expected_revenue:
            expected_revenue_item = expected_revenue_item_data.to_dict()
            expected_revenue.append(expected_revenue_item)



        history_confirmed_leads = self.history_confirmed_leads

        history_leads = self.history_leads

        history_signals = self.history_signals

        leads_per_item = self.leads_per_item

        cost_per_lead_micros = self.cost_per_lead_micros


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "assumptions": assumptions,
            "basis": basis,
            "expected_confirmed_leads": expected_confirmed_leads,
            "expected_leads": expected_leads,
            "expected_revenue": expected_revenue,
            "history_confirmed_leads": history_confirmed_leads,
            "history_leads": history_leads,
            "history_signals": history_signals,
            "leads_per_item": leads_per_item,
        })
        if cost_per_lead_micros is not UNSET:
            field_dict["cost_per_lead_micros"] = cost_per_lead_micros

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.expected_revenue import ExpectedRevenue # noqa: PLC0415
        d = dict(src_dict)
        assumptions = cast(list[str], d.pop("assumptions"))


        basis = ForecastBasis(d.pop("basis"))




        expected_confirmed_leads = d.pop("expected_confirmed_leads")

        expected_leads = d.pop("expected_leads")

        expected_revenue = []
        _expected_revenue = d.pop("expected_revenue")
        for expected_revenue_item_data in (_expected_revenue):
            expected_revenue_item = ExpectedRevenue.from_dict(expected_revenue_item_data)



            expected_revenue.append(expected_revenue_item)


        history_confirmed_leads = d.pop("history_confirmed_leads")

        history_leads = d.pop("history_leads")

        history_signals = d.pop("history_signals")

        leads_per_item = d.pop("leads_per_item")

        cost_per_lead_micros = d.pop("cost_per_lead_micros", UNSET)

        forecast = cls(
            assumptions=assumptions,
            basis=basis,
            expected_confirmed_leads=expected_confirmed_leads,
            expected_leads=expected_leads,
            expected_revenue=expected_revenue,
            history_confirmed_leads=history_confirmed_leads,
            history_leads=history_leads,
            history_signals=history_signals,
            leads_per_item=leads_per_item,
            cost_per_lead_micros=cost_per_lead_micros,
        )


        forecast.additional_properties = d
        return forecast

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
