from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.quiet_hours import QuietHours
  from ..models.throttle import Throttle





T = TypeVar("T", bound="AlertRule")



@_attrs_define
class AlertRule:
    """ An alert rule.

        Attributes:
            categories (list[str]): The category filter (empty: any).
            created_at (datetime.datetime): When it was created.
            destination_ids (list[UUID]): Where it alerts.
            digest_secs (int): 0: at once; otherwise the digest window, seconds.
            enabled (bool): Whether it alerts.
            event (str): The event it watches.
            id (UUID): Its id.
            name (str): Its name.
            templates (Any): Templates by destination kind.
            updated_at (datetime.datetime): When it last changed.
            min_score (int | Unset): The score filter.
            quiet_hours (QuietHours | Unset): Hours in which nothing is sent; what matches is sent when they end.
            throttle (Throttle | Unset): At most `max` messages per destination in any `per_secs` window.
     """

    categories: list[str]
    created_at: datetime.datetime
    destination_ids: list[UUID]
    digest_secs: int
    enabled: bool
    event: str
    id: UUID
    name: str
    templates: Any
    updated_at: datetime.datetime
    min_score: int | Unset = UNSET
    quiet_hours: QuietHours | Unset = UNSET
    throttle: Throttle | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.quiet_hours import QuietHours # noqa: PLC0415
        from ..models.throttle import Throttle # noqa: PLC0415
        categories = self.categories



        created_at = self.created_at.isoformat()

        destination_ids = []
        for destination_ids_item_data in self.destination_ids:
            destination_ids_item = str(destination_ids_item_data)
            destination_ids.append(destination_ids_item)



        digest_secs = self.digest_secs

        enabled = self.enabled

        event = self.event

        id = str(self.id)

        name = self.name

        templates = self.templates

        updated_at = self.updated_at.isoformat()

        min_score = self.min_score

        quiet_hours: dict[str, Any] | Unset = UNSET
        if not isinstance(self.quiet_hours, Unset):
            quiet_hours = self.quiet_hours.to_dict()

        throttle: dict[str, Any] | Unset = UNSET
        if not isinstance(self.throttle, Unset):
            throttle = self.throttle.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "categories": categories,
            "created_at": created_at,
            "destination_ids": destination_ids,
            "digest_secs": digest_secs,
            "enabled": enabled,
            "event": event,
            "id": id,
            "name": name,
            "templates": templates,
            "updated_at": updated_at,
        })
        if min_score is not UNSET:
            field_dict["min_score"] = min_score
        if quiet_hours is not UNSET:
            field_dict["quiet_hours"] = quiet_hours
        if throttle is not UNSET:
            field_dict["throttle"] = throttle

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.quiet_hours import QuietHours # noqa: PLC0415
        from ..models.throttle import Throttle # noqa: PLC0415
        d = dict(src_dict)
        categories = cast(list[str], d.pop("categories"))


        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        destination_ids = []
        _destination_ids = d.pop("destination_ids")
        for destination_ids_item_data in (_destination_ids):
            destination_ids_item = UUID(destination_ids_item_data)



            destination_ids.append(destination_ids_item)


        digest_secs = d.pop("digest_secs")

        enabled = d.pop("enabled")

        event = d.pop("event")

        id = UUID(d.pop("id"))




        name = d.pop("name")

        templates = d.pop("templates")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        min_score = d.pop("min_score", UNSET)

        _quiet_hours = d.pop("quiet_hours", UNSET)
        quiet_hours: QuietHours | Unset
        if isinstance(_quiet_hours,  Unset):
            quiet_hours = UNSET
        else:
            quiet_hours = QuietHours.from_dict(_quiet_hours)




        _throttle = d.pop("throttle", UNSET)
        throttle: Throttle | Unset
        if isinstance(_throttle,  Unset):
            throttle = UNSET
        else:
            throttle = Throttle.from_dict(_throttle)




        alert_rule = cls(
            categories=categories,
            created_at=created_at,
            destination_ids=destination_ids,
            digest_secs=digest_secs,
            enabled=enabled,
            event=event,
            id=id,
            name=name,
            templates=templates,
            updated_at=updated_at,
            min_score=min_score,
            quiet_hours=quiet_hours,
            throttle=throttle,
        )


        alert_rule.additional_properties = d
        return alert_rule

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
