from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.economics_revenue import EconomicsRevenue





T = TypeVar("T", bound="EconomicsFigures")



@_attrs_define
class EconomicsFigures:
    """ The figures of a group, or of all.

        Attributes:
            classified_keyword (int): Verdicts the keyword rules reached (an LLM's twice-invalid answer keeps the
                keywords').
            classified_llm (int): Verdicts a paid LLM call reached.
            classified_memo (int): Verdicts read from the memo of paid answers (free).
            cost_micros (int): What they cost, integer micro-dollars (USD).
            leads (int): Leads found.
            leads_confirmed (int): Leads a partner confirmed (sold).
            leads_exported (int): Leads a partner received (sold or not yet).
            paid_calls (int): Settled paid calls.
            returns (int): Sales returned.
            revenue (list[EconomicsRevenue]): Per currency, integer cents.
            signals (int): Signals ingested.
            cost_per_confirmed_lead_micros (int | Unset): Cost per confirmed lead, micro-dollars, rounded; absent without
                confirmed leads.
            cost_per_lead_micros (int | Unset): Cost per lead, micro-dollars, rounded (halves away from zero); absent
                without leads.
            roi_basis_points (int | Unset): (USD net revenue − cost) / cost in basis points (10000 = +100 %), rounded;
                absent
                without cost or when some revenue is not in USD (no exchange rate is assumed).
     """

    classified_keyword: int
    classified_llm: int
    classified_memo: int
    cost_micros: int
    leads: int
    leads_confirmed: int
    leads_exported: int
    paid_calls: int
    returns: int
    revenue: list[EconomicsRevenue]
    signals: int
    cost_per_confirmed_lead_micros: int | Unset = UNSET
    cost_per_lead_micros: int | Unset = UNSET
    roi_basis_points: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.economics_revenue import EconomicsRevenue # noqa: PLC0415
        classified_keyword = self.classified_keyword

        classified_llm = self.classified_llm

        classified_memo = self.classified_memo

        cost_micros = self.cost_micros

        leads = self.leads

        leads_confirmed = self.leads_confirmed

        leads_exported = self.leads_exported

        paid_calls = self.paid_calls

        returns = self.returns

        revenue = []
        for revenue_item_data in self.revenue:
            revenue_item = revenue_item_data.to_dict()
            revenue.append(revenue_item)



        signals = self.signals

        cost_per_confirmed_lead_micros = self.cost_per_confirmed_lead_micros

        cost_per_lead_micros = self.cost_per_lead_micros

        roi_basis_points = self.roi_basis_points


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "classified_keyword": classified_keyword,
            "classified_llm": classified_llm,
            "classified_memo": classified_memo,
            "cost_micros": cost_micros,
            "leads": leads,
            "leads_confirmed": leads_confirmed,
            "leads_exported": leads_exported,
            "paid_calls": paid_calls,
            "returns": returns,
            "revenue": revenue,
            "signals": signals,
        })
        if cost_per_confirmed_lead_micros is not UNSET:
            field_dict["cost_per_confirmed_lead_micros"] = cost_per_confirmed_lead_micros
        if cost_per_lead_micros is not UNSET:
            field_dict["cost_per_lead_micros"] = cost_per_lead_micros
        if roi_basis_points is not UNSET:
            field_dict["roi_basis_points"] = roi_basis_points

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.economics_revenue import EconomicsRevenue # noqa: PLC0415
        d = dict(src_dict)
        classified_keyword = d.pop("classified_keyword")

        classified_llm = d.pop("classified_llm")

        classified_memo = d.pop("classified_memo")

        cost_micros = d.pop("cost_micros")

        leads = d.pop("leads")

        leads_confirmed = d.pop("leads_confirmed")

        leads_exported = d.pop("leads_exported")

        paid_calls = d.pop("paid_calls")

        returns = d.pop("returns")

        revenue = []
        _revenue = d.pop("revenue")
        for revenue_item_data in (_revenue):
            revenue_item = EconomicsRevenue.from_dict(revenue_item_data)



            revenue.append(revenue_item)


        signals = d.pop("signals")

        cost_per_confirmed_lead_micros = d.pop("cost_per_confirmed_lead_micros", UNSET)

        cost_per_lead_micros = d.pop("cost_per_lead_micros", UNSET)

        roi_basis_points = d.pop("roi_basis_points", UNSET)

        economics_figures = cls(
            classified_keyword=classified_keyword,
            classified_llm=classified_llm,
            classified_memo=classified_memo,
            cost_micros=cost_micros,
            leads=leads,
            leads_confirmed=leads_confirmed,
            leads_exported=leads_exported,
            paid_calls=paid_calls,
            returns=returns,
            revenue=revenue,
            signals=signals,
            cost_per_confirmed_lead_micros=cost_per_confirmed_lead_micros,
            cost_per_lead_micros=cost_per_lead_micros,
            roi_basis_points=roi_basis_points,
        )


        economics_figures.additional_properties = d
        return economics_figures

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
