from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.workflow_step_concurrency import WorkflowStepConcurrency





T = TypeVar("T", bound="WorkflowStep")



@_attrs_define
class WorkflowStep:
    """ One step of a definition.

        Attributes:
            kind (str): The job kind it runs.
            name (str): Unique in the workflow: 1 to 50 of a-z, 0-9, `_` and `-`.
            after (list[str] | Unset): Steps that must succeed (or be skipped) first.
            args (Any | Unset): The kind's args; strings may hold `{{ input.x }}`, `{{ steps.NAME.output.x }}` or
                `{{ item }}` (a string that is exactly one placeholder becomes the value itself).
            concurrency (WorkflowStepConcurrency | Unset): A step's concurrency key.
            for_each (str | Unset): Fan out: one job per item of this list, e.g. `steps.fetch.output.items`. The step's
                output is the list of the items' results (fan-in).
            if_ (str | Unset): Run only when this holds, e.g. `steps.classify.output.score >= 70 and input.alert`
                (`== != < <= > >=`, `and`, `or`, parentheses, literals); skipped otherwise.
            item_if (str | Unset): With `for_each`: only the items for which this holds get a job, e.g. `item.score >= 70`.
            max_attempts (int | Unset): Attempts of each of its jobs, 1 to 100 (the kind's default otherwise).
     """

    kind: str
    name: str
    after: list[str] | Unset = UNSET
    args: Any | Unset = UNSET
    concurrency: WorkflowStepConcurrency | Unset = UNSET
    for_each: str | Unset = UNSET
    if_: str | Unset = UNSET
    item_if: str | Unset = UNSET
    max_attempts: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.workflow_step_concurrency import WorkflowStepConcurrency # noqa: PLC0415
        kind = self.kind

        name = self.name

        after: list[str] | Unset = UNSET
        if not isinstance(self.after, Unset):
            after = self.after



        args = self.args

        concurrency: dict[str, Any] | Unset = UNSET
        if not isinstance(self.concurrency, Unset):
            concurrency = self.concurrency.to_dict()

        for_each = self.for_each

        if_ = self.if_

        item_if = self.item_if

        max_attempts = self.max_attempts


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "kind": kind,
            "name": name,
        })
        if after is not UNSET:
            field_dict["after"] = after
        if args is not UNSET:
            field_dict["args"] = args
        if concurrency is not UNSET:
            field_dict["concurrency"] = concurrency
        if for_each is not UNSET:
            field_dict["for_each"] = for_each
        if if_ is not UNSET:
            field_dict["if"] = if_
        if item_if is not UNSET:
            field_dict["item_if"] = item_if
        if max_attempts is not UNSET:
            field_dict["max_attempts"] = max_attempts

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.workflow_step_concurrency import WorkflowStepConcurrency # noqa: PLC0415
        d = dict(src_dict)
        kind = d.pop("kind")

        name = d.pop("name")

        after = cast(list[str], d.pop("after", UNSET))


        args = d.pop("args", UNSET)

        _concurrency = d.pop("concurrency", UNSET)
        concurrency: WorkflowStepConcurrency | Unset
        if isinstance(_concurrency,  Unset):
            concurrency = UNSET
        else:
            concurrency = WorkflowStepConcurrency.from_dict(_concurrency)




        for_each = d.pop("for_each", UNSET)

        if_ = d.pop("if", UNSET)

        item_if = d.pop("item_if", UNSET)

        max_attempts = d.pop("max_attempts", UNSET)

        workflow_step = cls(
            kind=kind,
            name=name,
            after=after,
            args=args,
            concurrency=concurrency,
            for_each=for_each,
            if_=if_,
            item_if=item_if,
            max_attempts=max_attempts,
        )


        workflow_step.additional_properties = d
        return workflow_step

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
