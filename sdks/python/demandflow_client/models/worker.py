from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="Worker")



@_attrs_define
class Worker:
    """ A live worker process.

        Attributes:
            host (str): The host it runs on.
            id (str): Its identity (host, pid and a random suffix: unique per start).
            in_flight (int): Jobs it held at that heartbeat.
            kinds (list[str]): The kinds it runs.
            last_heartbeat_at (datetime.datetime): Its last heartbeat.
            pid (int): Its process id.
            started_at (datetime.datetime): When it started.
     """

    host: str
    id: str
    in_flight: int
    kinds: list[str]
    last_heartbeat_at: datetime.datetime
    pid: int
    started_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        host = self.host

        id = self.id

        in_flight = self.in_flight

        kinds = self.kinds



        last_heartbeat_at = self.last_heartbeat_at.isoformat()

        pid = self.pid

        started_at = self.started_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "host": host,
            "id": id,
            "in_flight": in_flight,
            "kinds": kinds,
            "last_heartbeat_at": last_heartbeat_at,
            "pid": pid,
            "started_at": started_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        host = d.pop("host")

        id = d.pop("id")

        in_flight = d.pop("in_flight")

        kinds = cast(list[str], d.pop("kinds"))


        last_heartbeat_at = datetime.datetime.fromisoformat(d.pop("last_heartbeat_at"))




        pid = d.pop("pid")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))




        worker = cls(
            host=host,
            id=id,
            in_flight=in_flight,
            kinds=kinds,
            last_heartbeat_at=last_heartbeat_at,
            pid=pid,
            started_at=started_at,
        )


        worker.additional_properties = d
        return worker

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
