from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.economics_breach import EconomicsBreach





T = TypeVar("T", bound="EconomicsWatch")



@_attrs_define
class EconomicsWatch:
    """ The tenant's economics watch.

        Attributes:
            breaches (list[EconomicsBreach]): The sources in breach now; each alerted once, when it began.
            min_cost_micros (int): Sources that spent less in the window are not judged.
            negative_roi (bool): Whether a negative ROI is a breach.
            updated_at (datetime.datetime): When it last changed.
            window_days (int): The days judged, ending today (UTC).
            max_cost_per_confirmed_lead_micros (int | Unset): The ceiling on the cost per confirmed lead, micro-dollars.
     """

    breaches: list[EconomicsBreach]
    min_cost_micros: int
    negative_roi: bool
    updated_at: datetime.datetime
    window_days: int
    max_cost_per_confirmed_lead_micros: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.economics_breach import EconomicsBreach # noqa: PLC0415
        breaches = []
        for breaches_item_data in self.breaches:
            breaches_item = breaches_item_data.to_dict()
            breaches.append(breaches_item)



        min_cost_micros = self.min_cost_micros

        negative_roi = self.negative_roi

        updated_at = self.updated_at.isoformat()

        window_days = self.window_days

        max_cost_per_confirmed_lead_micros = self.max_cost_per_confirmed_lead_micros


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "breaches": breaches,
            "min_cost_micros": min_cost_micros,
            "negative_roi": negative_roi,
            "updated_at": updated_at,
            "window_days": window_days,
        })
        if max_cost_per_confirmed_lead_micros is not UNSET:
            field_dict["max_cost_per_confirmed_lead_micros"] = max_cost_per_confirmed_lead_micros

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.economics_breach import EconomicsBreach # noqa: PLC0415
        d = dict(src_dict)
        breaches = []
        _breaches = d.pop("breaches")
        for breaches_item_data in (_breaches):
            breaches_item = EconomicsBreach.from_dict(breaches_item_data)



            breaches.append(breaches_item)


        min_cost_micros = d.pop("min_cost_micros")

        negative_roi = d.pop("negative_roi")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        window_days = d.pop("window_days")

        max_cost_per_confirmed_lead_micros = d.pop("max_cost_per_confirmed_lead_micros", UNSET)

        economics_watch = cls(
            breaches=breaches,
            min_cost_micros=min_cost_micros,
            negative_roi=negative_roi,
            updated_at=updated_at,
            window_days=window_days,
            max_cost_per_confirmed_lead_micros=max_cost_per_confirmed_lead_micros,
        )


        economics_watch.additional_properties = d
        return economics_watch

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
