from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.quiet_hours import QuietHours
  from ..models.throttle import Throttle





T = TypeVar("T", bound="AlertRuleSpec")



@_attrs_define
class AlertRuleSpec:
    """ A rule to create, or a rule's whole new content.

        Attributes:
            destination_ids (list[UUID]): Where it alerts (1 to 20 destinations of the tenant).
            event (str): The event it watches: `signal.classified` (relevant verdicts), `lead.created`,
                `lead.scored`, `budget.alert`, `job.dead`, `run.succeeded`, `run.failed` or
                `source.economics` (a source crossed the economics watch).
            name (str): Its name, unique in the tenant.
            categories (list[str] | Unset): Only events whose `category` is one of these.
            digest_secs (int | Unset): 0 (default): at once; otherwise matches are gathered this many seconds into one
                message.
            enabled (bool | Unset): Whether it alerts (default true).
            min_score (int | Unset): Only events whose `score` is at least this (0 to 100).
            quiet_hours (QuietHours | Unset): Hours in which nothing is sent; what matches is sent when they end.
            templates (Any | Unset): A template per destination kind (`{"slack": "...", "email": "..."}`, minijinja syntax
                over the event's data); none: a default that shows title, score, category, link and
                contact.
            throttle (Throttle | Unset): At most `max` messages per destination in any `per_secs` window.
     """

    destination_ids: list[UUID]
    event: str
    name: str
    categories: list[str] | Unset = UNSET
    digest_secs: int | Unset = UNSET
    enabled: bool | Unset = UNSET
    min_score: int | Unset = UNSET
    quiet_hours: QuietHours | Unset = UNSET
    templates: Any | Unset = UNSET
    throttle: Throttle | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.quiet_hours import QuietHours # noqa: PLC0415
        from ..models.throttle import Throttle # noqa: PLC0415
        destination_ids = []
        for destination_ids_item_data in self.destination_ids:
            destination_ids_item = str(destination_ids_item_data)
            destination_ids.append(destination_ids_item)



        event = self.event

        name = self.name

        categories: list[str] | Unset = UNSET
        if not isinstance(self.categories, Unset):
            categories = self.categories



        digest_secs = self.digest_secs

        enabled = self.enabled

        min_score = self.min_score

        quiet_hours: dict[str, Any] | Unset = UNSET
        if not isinstance(self.quiet_hours, Unset):
            quiet_hours = self.quiet_hours.to_dict()

        templates = self.templates

        throttle: dict[str, Any] | Unset = UNSET
        if not isinstance(self.throttle, Unset):
            throttle = self.throttle.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "destination_ids": destination_ids,
            "event": event,
            "name": name,
        })
        if categories is not UNSET:
            field_dict["categories"] = categories
        if digest_secs is not UNSET:
            field_dict["digest_secs"] = digest_secs
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if min_score is not UNSET:
            field_dict["min_score"] = min_score
        if quiet_hours is not UNSET:
            field_dict["quiet_hours"] = quiet_hours
        if templates is not UNSET:
            field_dict["templates"] = templates
        if throttle is not UNSET:
            field_dict["throttle"] = throttle

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.quiet_hours import QuietHours # noqa: PLC0415
        from ..models.throttle import Throttle # noqa: PLC0415
        d = dict(src_dict)
        destination_ids = []
        _destination_ids = d.pop("destination_ids")
        for destination_ids_item_data in (_destination_ids):
            destination_ids_item = UUID(destination_ids_item_data)



            destination_ids.append(destination_ids_item)


        event = d.pop("event")

        name = d.pop("name")

        categories = cast(list[str], d.pop("categories", UNSET))


        digest_secs = d.pop("digest_secs", UNSET)

        enabled = d.pop("enabled", UNSET)

        min_score = d.pop("min_score", UNSET)

        _quiet_hours = d.pop("quiet_hours", UNSET)
        quiet_hours: QuietHours | Unset
        if isinstance(_quiet_hours,  Unset):
            quiet_hours = UNSET
        else:
            quiet_hours = QuietHours.from_dict(_quiet_hours)




        templates = d.pop("templates", UNSET)

        _throttle = d.pop("throttle", UNSET)
        throttle: Throttle | Unset
        if isinstance(_throttle,  Unset):
            throttle = UNSET
        else:
            throttle = Throttle.from_dict(_throttle)




        alert_rule_spec = cls(
            destination_ids=destination_ids,
            event=event,
            name=name,
            categories=categories,
            digest_secs=digest_secs,
            enabled=enabled,
            min_score=min_score,
            quiet_hours=quiet_hours,
            templates=templates,
            throttle=throttle,
        )


        alert_rule_spec.additional_properties = d
        return alert_rule_spec

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
