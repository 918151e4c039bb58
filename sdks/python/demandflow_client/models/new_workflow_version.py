from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.workflow_definition import WorkflowDefinition





T = TypeVar("T", bound="NewWorkflowVersion")



@_attrs_define
class NewWorkflowVersion:
    """ A new version of a workflow.

        Attributes:
            definition (WorkflowDefinition): A workflow definition: a DAG of steps.
     """

    definition: WorkflowDefinition
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.workflow_definition import WorkflowDefinition # noqa: PLC0415
        definition = self.definition.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "definition": definition,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.workflow_definition import WorkflowDefinition # noqa: PLC0415
        d = dict(src_dict)
        definition = WorkflowDefinition.from_dict(d.pop("definition"))




        new_workflow_version = cls(
            definition=definition,
        )


        new_workflow_version.additional_properties = d
        return new_workflow_version

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
