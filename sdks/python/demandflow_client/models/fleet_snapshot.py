from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.queue_stats import QueueStats
  from ..models.worker import Worker





T = TypeVar("T", bound="FleetSnapshot")



@_attrs_define
class FleetSnapshot:
    """ One moment of the fleet.

        Attributes:
            at (datetime.datetime): When it was taken.
            queues (list[QueueStats]): The tenant's queues, as `GET /queues` shows them.
            workers (list[Worker]): The live workers, as `GET /workers` shows them.
     """

    at: datetime.datetime
    queues: list[QueueStats]
    workers: list[Worker]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.queue_stats import QueueStats # noqa: PLC0415
        from ..models.worker import Worker # noqa: PLC0415
        at = self.at.isoformat()

        queues = []
        for queues_item_data in self.queues:
            queues_item = queues_item_data.to_dict()
            queues.append(queues_item)



        workers = []
        for workers_item_data in self.workers:
            workers_item = workers_item_data.to_dict()
            workers.append(workers_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "at": at,
            "queues": queues,
            "workers": workers,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.queue_stats import QueueStats # noqa: PLC0415
        from ..models.worker import Worker # noqa: PLC0415
        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))




        queues = []
        _queues = d.pop("queues")
        for queues_item_data in (_queues):
            queues_item = QueueStats.from_dict(queues_item_data)



            queues.append(queues_item)


        workers = []
        _workers = d.pop("workers")
        for workers_item_data in (_workers):
            workers_item = Worker.from_dict(workers_item_data)



            workers.append(workers_item)


        fleet_snapshot = cls(
            at=at,
            queues=queues,
            workers=workers,
        )


        fleet_snapshot.additional_properties = d
        return fleet_snapshot

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
