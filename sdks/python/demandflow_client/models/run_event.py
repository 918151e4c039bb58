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






T = TypeVar("T", bound="RunEvent")



@_attrs_define
class RunEvent:
    """ One event of a run.

        Attributes:
            at (datetime.datetime): When it happened.
            data (Any): Details: `run_created` `{workflow_id, version, trigger}`; `step_started` `{kind, items}`;
                `step_succeeded` `{output}` (or `{output_omitted: true}` over 8 KiB); `step_skipped`
                `{reason}`; `step_failed` `{error}`; `step_cancelled` `{}`; `run_retried` `{steps}`;
                `run_finished` `{status, failed_step?, error?}`.
            id (int): Its id, also the SSE `id`: increasing within the run; send it back as `Last-Event-ID`
                to resume after it.
            run_id (UUID): Its run.
            type_ (str): `run_created`, `step_started`, `step_succeeded`, `step_skipped`, `step_failed`,
                `step_cancelled`, `run_retried` or `run_finished` (also the SSE `event`).
            step (str | Unset): The step it is about (`step_*` events).
     """

    at: datetime.datetime
    data: Any
    id: int
    run_id: UUID
    type_: str
    step: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        at = self.at.isoformat()

        data = self.data

        id = self.id

        run_id = str(self.run_id)

        type_ = self.type_

        step = self.step


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "at": at,
            "data": data,
            "id": id,
            "run_id": run_id,
            "type": type_,
        })
        if step is not UNSET:
            field_dict["step"] = step

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))




        data = d.pop("data")

        id = d.pop("id")

        run_id = UUID(d.pop("run_id"))




        type_ = d.pop("type")

        step = d.pop("step", UNSET)

        run_event = cls(
            at=at,
            data=data,
            id=id,
            run_id=run_id,
            type_=type_,
            step=step,
        )


        run_event.additional_properties = d
        return run_event

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
