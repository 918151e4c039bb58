from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.budget_period import BudgetPeriod
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.budget_alert import BudgetAlert





T = TypeVar("T", bound="Budget")



@_attrs_define
class Budget:
    """ A budget and its current period.

        Attributes:
            alerts (list[BudgetAlert]): This period's alerts (80 % and 100 %), oldest first.
            created_at (datetime.datetime): When it was created.
            id (UUID): Its id.
            limit_micros (int): The limit per period, micro-dollars.
            parked_jobs (int): Jobs parked on it right now.
            period (BudgetPeriod): How long a budget's period lasts.
            period_end (datetime.datetime): When it ends; jobs parked on this budget resume then.
            period_start (datetime.datetime): When the current period began.
            provider (str): The provider it limits.
            remaining_micros (int): What a new call may still reserve.
            reserved_micros (int): Held by calls in flight.
            spent_micros (int): Settled this period.
            updated_at (datetime.datetime): When its limit last changed.
     """

    alerts: list[BudgetAlert]
    created_at: datetime.datetime
    id: UUID
    limit_micros: int
    parked_jobs: int
    period: BudgetPeriod
    period_end: datetime.datetime
    period_start: datetime.datetime
    provider: str
    remaining_micros: int
    reserved_micros: int
    spent_micros: int
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.budget_alert import BudgetAlert # noqa: PLC0415
        alerts = []
        for alerts_item_data in self.alerts:
            alerts_item = alerts_item_data.to_dict()
            alerts.append(alerts_item)



        created_at = self.created_at.isoformat()

        id = str(self.id)

        limit_micros = self.limit_micros

        parked_jobs = self.parked_jobs

        period = self.period.value

        period_end = self.period_end.isoformat()

        period_start = self.period_start.isoformat()

        provider = self.provider

        remaining_micros = self.remaining_micros

        reserved_micros = self.reserved_micros

        spent_micros = self.spent_micros

        updated_at = self.updated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "alerts": alerts,
            "created_at": created_at,
            "id": id,
            "limit_micros": limit_micros,
            "parked_jobs": parked_jobs,
            "period": period,
            "period_end": period_end,
            "period_start": period_start,
            "provider": provider,
            "remaining_micros": remaining_micros,
            "reserved_micros": reserved_micros,
            "spent_micros": spent_micros,
            "updated_at": updated_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.budget_alert import BudgetAlert # noqa: PLC0415
        d = dict(src_dict)
        alerts = []
        _alerts = d.pop("alerts")
        for alerts_item_data in (_alerts):
            alerts_item = BudgetAlert.from_dict(alerts_item_data)



            alerts.append(alerts_item)


        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        limit_micros = d.pop("limit_micros")

        parked_jobs = d.pop("parked_jobs")

        period = BudgetPeriod(d.pop("period"))




        period_end = datetime.datetime.fromisoformat(d.pop("period_end"))




        period_start = datetime.datetime.fromisoformat(d.pop("period_start"))




        provider = d.pop("provider")

        remaining_micros = d.pop("remaining_micros")

        reserved_micros = d.pop("reserved_micros")

        spent_micros = d.pop("spent_micros")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        budget = cls(
            alerts=alerts,
            created_at=created_at,
            id=id,
            limit_micros=limit_micros,
            parked_jobs=parked_jobs,
            period=period,
            period_end=period_end,
            period_start=period_start,
            provider=provider,
            remaining_micros=remaining_micros,
            reserved_micros=reserved_micros,
            spent_micros=spent_micros,
            updated_at=updated_at,
        )


        budget.additional_properties = d
        return budget

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
