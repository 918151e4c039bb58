from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.run_status import RunStatus
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.run_progress import RunProgress
  from ..models.run_step import RunStep





T = TypeVar("T", bound="Run")



@_attrs_define
class Run:
    """ A run of a workflow.

        Attributes:
            created_at (datetime.datetime): When it was triggered.
            id (UUID): Its id.
            input_ (Any): Its input.
            progress (RunProgress): How far a run is.
            status (RunStatus): Where a run is.
            trigger (Any): How it was started: `{"type": "api"}`, `{"type": "schedule", "schedule_id", "fire_at"}`
                or `{"type": "webhook", "webhook_id"}`.
            version (int): The version it pinned when it started.
            workflow_id (UUID): Its workflow.
            error (str | Unset): Why.
            failed_step (str | Unset): The step that failed it.
            finished_at (datetime.datetime | Unset): When it finished.
            started_at (datetime.datetime | Unset): When its first step job finished.
            steps (list[RunStep] | Unset): Its steps in definition order (absent in listings).
     """

    created_at: datetime.datetime
    id: UUID
    input_: Any
    progress: RunProgress
    status: RunStatus
    trigger: Any
    version: int
    workflow_id: UUID
    error: str | Unset = UNSET
    failed_step: str | Unset = UNSET
    finished_at: datetime.datetime | Unset = UNSET
    started_at: datetime.datetime | Unset = UNSET
    steps: list[RunStep] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.run_progress import RunProgress # noqa: PLC0415
        from ..models.run_step import RunStep # noqa: PLC0415
        created_at = self.created_at.isoformat()

        id = str(self.id)

        input_ = self.input_

        progress = self.progress.to_dict()

        status = self.status.value

        trigger = self.trigger

        version = self.version

        workflow_id = str(self.workflow_id)

        error = self.error

        failed_step = self.failed_step

        finished_at: str | Unset = UNSET
        if not isinstance(self.finished_at, Unset):
            finished_at = self.finished_at.isoformat()

        started_at: str | Unset = UNSET
        if not isinstance(self.started_at, Unset):
            started_at = self.started_at.isoformat()

        steps: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.steps, Unset):
            steps = []
            for steps_item_data in self.steps:
                steps_item = steps_item_data.to_dict()
                steps.append(steps_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "id": id,
            "input": input_,
            "progress": progress,
            "status": status,
            "trigger": trigger,
            "version": version,
            "workflow_id": workflow_id,
        })
        if error is not UNSET:
            field_dict["error"] = error
        if failed_step is not UNSET:
            field_dict["failed_step"] = failed_step
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if steps is not UNSET:
            field_dict["steps"] = steps

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.run_progress import RunProgress # noqa: PLC0415
        from ..models.run_step import RunStep # noqa: PLC0415
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        input_ = d.pop("input")

        progress = RunProgress.from_dict(d.pop("progress"))




        status = RunStatus(d.pop("status"))




        trigger = d.pop("trigger")

        version = d.pop("version")

        workflow_id = UUID(d.pop("workflow_id"))




        error = d.pop("error", UNSET)

        failed_step = d.pop("failed_step", UNSET)

        _finished_at = d.pop("finished_at", UNSET)
        finished_at: datetime.datetime | Unset
        if isinstance(_finished_at,  Unset):
            finished_at = UNSET
        else:
            finished_at = datetime.datetime.fromisoformat(_finished_at)




        _started_at = d.pop("started_at", UNSET)
        started_at: datetime.datetime | Unset
        if isinstance(_started_at,  Unset):
            started_at = UNSET
        else:
            started_at = datetime.datetime.fromisoformat(_started_at)




        _steps = d.pop("steps", UNSET)
        steps: list[RunStep] | Unset = UNSET
        if _steps is not UNSET:
            steps = []
            for steps_item_data in _steps:
                steps_item = RunStep.from_dict(steps_item_data)



                steps.append(steps_item)


        run = cls(
            created_at=created_at,
            id=id,
            input_=input_,
            progress=progress,
            status=status,
            trigger=trigger,
            version=version,
            workflow_id=workflow_id,
            error=error,
            failed_step=failed_step,
            finished_at=finished_at,
            started_at=started_at,
            steps=steps,
        )


        run.additional_properties = d
        return run

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
