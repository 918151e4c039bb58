from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.estimate_basis import EstimateBasis
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.budget_left import BudgetLeft
  from ..models.forecast import Forecast





T = TypeVar("T", bound="Estimate")



@_attrs_define
class Estimate:
    """ The expected cost of a batch.

        Attributes:
            budgets (list[BudgetLeft]): What each of the tenant's budgets for the provider has left this period (empty: no
                budget, unlimited).
            calls_per_paid_item (float): Paid calls per paid item (an invalid answer is asked again once), 1 to 2.
            cost_basis (EstimateBasis): Where a figure came from.
            cost_per_call_micros (int): Average cost of one call, micro-dollars.
            expected_cost_micros (int): `expected_paid_calls × cost_per_call_micros`.
            expected_items (int): As asked.
            expected_llm_items (int): Items expected to reach the LLM, memo hits included.
            expected_paid_calls (int): Paid calls expected.
            fits_budgets (bool): Whether every budget has at least `expected_cost_micros` left.
            forecast (Forecast): What a batch is expected to bring.
            history_items (int): Verdicts of the source the figures were drawn from (its last 1000).
            llm_share (float): Share of items the keywords leave undecided, 0 to 1.
            llm_share_basis (EstimateBasis): Where a figure came from.
            memo_hit_share (float): Share of undecided items answered by the memo (free), 0 to 1.
            provider (str): The provider whose budgets apply (`LLM_PROVIDER`).
            source_id (UUID): The source.
            model (str | Unset): The model calls would use; absent when no LLM is configured.
     """

    budgets: list[BudgetLeft]
    calls_per_paid_item: float
    cost_basis: EstimateBasis
    cost_per_call_micros: int
    expected_cost_micros: int
    expected_items: int
    expected_llm_items: int
    expected_paid_calls: int
    fits_budgets: bool
    forecast: Forecast
    history_items: int
    llm_share: float
    llm_share_basis: EstimateBasis
    memo_hit_share: float
    provider: str
    source_id: UUID
    model: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.budget_left import BudgetLeft # noqa: PLC0415
        from ..models.forecast import Forecast # noqa: PLC0415
        budgets = []
        for budgets_item_data in self.budgets:
            budgets_item = budgets_item_data.to_dict()
            budgets.append(budgets_item)



        calls_per_paid_item = self.calls_per_paid_item

        cost_basis = self.cost_basis.value

        cost_per_call_micros = self.cost_per_call_micros

        expected_cost_micros = self.expected_cost_micros

        expected_items = self.expected_items

        expected_llm_items = self.expected_llm_items

        expected_paid_calls = self.expected_paid_calls

        fits_budgets = self.fits_budgets

        forecast = self.forecast.to_dict()

        history_items = self.history_items

        llm_share = self.llm_share

        llm_share_basis = self.llm_share_basis.value

        memo_hit_share = self.memo_hit_share

        provider = self.provider

        source_id = str(self.source_id)

        model = self.model


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "budgets": budgets,
            "calls_per_paid_item": calls_per_paid_item,
            "cost_basis": cost_basis,
            "cost_per_call_micros": cost_per_call_micros,
            "expected_cost_micros": expected_cost_micros,
            "expected_items": expected_items,
            "expected_llm_items": expected_llm_items,
            "expected_paid_calls": expected_paid_calls,
            "fits_budgets": fits_budgets,
            "forecast": forecast,
            "history_items": history_items,
            "llm_share": llm_share,
            "llm_share_basis": llm_share_basis,
            "memo_hit_share": memo_hit_share,
            "provider": provider,
            "source_id": source_id,
        })
        if model is not UNSET:
            field_dict["model"] = model

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.budget_left import BudgetLeft # noqa: PLC0415
        from ..models.forecast import Forecast # noqa: PLC0415
        d = dict(src_dict)
        budgets = []
        _budgets = d.pop("budgets")
        for budgets_item_data in (_budgets):
            budgets_item = BudgetLeft.from_dict(budgets_item_data)



            budgets.append(budgets_item)


        calls_per_paid_item = d.pop("calls_per_paid_item")

        cost_basis = EstimateBasis(d.pop("cost_basis"))




        cost_per_call_micros = d.pop("cost_per_call_micros")

        expected_cost_micros = d.pop("expected_cost_micros")

        expected_items = d.pop("expected_items")

        expected_llm_items = d.pop("expected_llm_items")

        expected_paid_calls = d.pop("expected_paid_calls")

        fits_budgets = d.pop("fits_budgets")

        forecast = Forecast.from_dict(d.pop("forecast"))




        history_items = d.pop("history_items")

        llm_share = d.pop("llm_share")

        llm_share_basis = EstimateBasis(d.pop("llm_share_basis"))




        memo_hit_share = d.pop("memo_hit_share")

        provider = d.pop("provider")

        source_id = UUID(d.pop("source_id"))




        model = d.pop("model", UNSET)

        estimate = cls(
            budgets=budgets,
            calls_per_paid_item=calls_per_paid_item,
            cost_basis=cost_basis,
            cost_per_call_micros=cost_per_call_micros,
            expected_cost_micros=expected_cost_micros,
            expected_items=expected_items,
            expected_llm_items=expected_llm_items,
            expected_paid_calls=expected_paid_calls,
            fits_budgets=fits_budgets,
            forecast=forecast,
            history_items=history_items,
            llm_share=llm_share,
            llm_share_basis=llm_share_basis,
            memo_hit_share=memo_hit_share,
            provider=provider,
            source_id=source_id,
            model=model,
        )


        estimate.additional_properties = d
        return estimate

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
