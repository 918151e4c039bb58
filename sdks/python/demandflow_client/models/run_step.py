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
  from ..models.run_step_jobs import RunStepJobs





T = TypeVar("T", bound="RunStep")



@_attrs_define
class RunStep:
    """ One step of a run.

        Attributes:
            jobs (RunStepJobs): Its jobs by state.
            name (str): The step's name.
            state (str): `pending`, `running`, `succeeded`, `failed`, `skipped` or `cancelled`.
            error (str | Unset): Why it failed.
            finished_at (datetime.datetime | Unset): When it finished.
            items (int | Unset): Jobs enqueued for it (a for_each's items; 1 otherwise).
            output (Any | Unset): Its output once succeeded: the job's result, or the items' results in order.
            started_at (datetime.datetime | Unset): When its jobs were enqueued.
     """

    jobs: RunStepJobs
    name: str
    state: str
    error: str | Unset = UNSET
    finished_at: datetime.datetime | Unset = UNSET
    items: int | Unset = UNSET
    output: Any | Unset = UNSET
    started_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.run_step_jobs import RunStepJobs # noqa: PLC0415
        jobs = self.jobs.to_dict()

        name = self.name

        state = self.state

        error = self.error

        finished_at: str | Unset = UNSET
        if not isinstance(self.finished_at, Unset):
            finished_at = self.finished_at.isoformat()

        items = self.items

        output = self.output

        started_at: str | Unset = UNSET
        if not isinstance(self.started_at, Unset):
            started_at = self.started_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "jobs": jobs,
            "name": name,
            "state": state,
        })
        if error is not UNSET:
            field_dict["error"] = error
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if items is not UNSET:
            field_dict["items"] = items
        if output is not UNSET:
            field_dict["output"] = output
        if started_at is not UNSET:
            field_dict["started_at"] = started_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.run_step_jobs import RunStepJobs # noqa: PLC0415
        d = dict(src_dict)
        jobs = RunStepJobs.from_dict(d.pop("jobs"))




        name = d.pop("name")

        state = d.pop("state")

        error = d.pop("error", UNSET)

        _finished_at = d.pop("finished_at", UNSET)
        finished_at: datetime.datetime | Unset
        if isinstance(_finished_at,  Unset):
            finished_at = UNSET
        else:
            finished_at = datetime.datetime.fromisoformat(_finished_at)




        items = d.pop("items", UNSET)

        output = d.pop("output", UNSET)

        _started_at = d.pop("started_at", UNSET)
        started_at: datetime.datetime | Unset
        if isinstance(_started_at,  Unset):
            started_at = UNSET
        else:
            started_at = datetime.datetime.fromisoformat(_started_at)




        run_step = cls(
            jobs=jobs,
            name=name,
            state=state,
            error=error,
            finished_at=finished_at,
            items=items,
            output=output,
            started_at=started_at,
        )


        run_step.additional_properties = d
        return run_step

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
