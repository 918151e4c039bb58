from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.catch_up import CatchUp
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="Schedule")



@_attrs_define
class Schedule:
    """ A cron schedule of a workflow.

        Attributes:
            catch_up (CatchUp): What happens to fire times missed while no scheduler ran.
            created_at (datetime.datetime): When it was created.
            cron (str): The cron expression.
            enabled (bool): Whether it fires.
            id (UUID): Its id.
            input_ (Any): The input of every run it starts.
            time_zone (str): The IANA time zone it is read in.
            updated_at (datetime.datetime): When it last changed.
            workflow_id (UUID): Its workflow.
            last_error (str | Unset): Why its last fire started no run (e.g. the workflow is disabled).
            last_fire_at (datetime.datetime | Unset): The last fire time it handled.
            last_run_id (UUID | Unset): The run its last fire started.
            next_fire_at (datetime.datetime | Unset): Its next fire time (absent when disabled, or when it never fires
                again).
     """

    catch_up: CatchUp
    created_at: datetime.datetime
    cron: str
    enabled: bool
    id: UUID
    input_: Any
    time_zone: str
    updated_at: datetime.datetime
    workflow_id: UUID
    last_error: str | Unset = UNSET
    last_fire_at: datetime.datetime | Unset = UNSET
    last_run_id: UUID | Unset = UNSET
    next_fire_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        catch_up = self.catch_up.value

        created_at = self.created_at.isoformat()

        cron = self.cron

        enabled = self.enabled

        id = str(self.id)

        input_ = self.input_

        time_zone = self.time_zone

        updated_at = self.updated_at.isoformat()

        workflow_id = str(self.workflow_id)

        last_error = self.last_error

        last_fire_at: str | Unset = UNSET
        if not isinstance(self.last_fire_at, Unset):
            last_fire_at = self.last_fire_at.isoformat()

        last_run_id: str | Unset = UNSET
        if not isinstance(self.last_run_id, Unset):
            last_run_id = str(self.last_run_id)

        next_fire_at: str | Unset = UNSET
        if not isinstance(self.next_fire_at, Unset):
            next_fire_at = self.next_fire_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "catch_up": catch_up,
            "created_at": created_at,
            "cron": cron,
            "enabled": enabled,
            "id": id,
            "input": input_,
            "time_zone": time_zone,
            "updated_at": updated_at,
            "workflow_id": workflow_id,
        })
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if last_fire_at is not UNSET:
            field_dict["last_fire_at"] = last_fire_at
        if last_run_id is not UNSET:
            field_dict["last_run_id"] = last_run_id
        if next_fire_at is not UNSET:
            field_dict["next_fire_at"] = next_fire_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        catch_up = CatchUp(d.pop("catch_up"))




        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        cron = d.pop("cron")

        enabled = d.pop("enabled")

        id = UUID(d.pop("id"))




        input_ = d.pop("input")

        time_zone = d.pop("time_zone")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        workflow_id = UUID(d.pop("workflow_id"))




        last_error = d.pop("last_error", UNSET)

        _last_fire_at = d.pop("last_fire_at", UNSET)
        last_fire_at: datetime.datetime | Unset
        if isinstance(_last_fire_at,  Unset):
            last_fire_at = UNSET
        else:
            last_fire_at = datetime.datetime.fromisoformat(_last_fire_at)




        _last_run_id = d.pop("last_run_id", UNSET)
        last_run_id: UUID | Unset
        if isinstance(_last_run_id,  Unset):
            last_run_id = UNSET
        else:
            last_run_id = UUID(_last_run_id)




        _next_fire_at = d.pop("next_fire_at", UNSET)
        next_fire_at: datetime.datetime | Unset
        if isinstance(_next_fire_at,  Unset):
            next_fire_at = UNSET
        else:
            next_fire_at = datetime.datetime.fromisoformat(_next_fire_at)




        schedule = cls(
            catch_up=catch_up,
            created_at=created_at,
            cron=cron,
            enabled=enabled,
            id=id,
            input_=input_,
            time_zone=time_zone,
            updated_at=updated_at,
            workflow_id=workflow_id,
            last_error=last_error,
            last_fire_at=last_fire_at,
            last_run_id=last_run_id,
            next_fire_at=next_fire_at,
        )


        schedule.additional_properties = d
        return schedule

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
