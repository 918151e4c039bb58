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






T = TypeVar("T", bound="Workflow")



@_attrs_define
class Workflow:
    """ A workflow.

        Attributes:
            created_at (datetime.datetime): When it was created.
            definition (Any): The newest version's definition.
            id (UUID): Its id.
            name (str): Its name.
            updated_at (datetime.datetime): When it last changed.
            version (int): Its newest version; new runs pin it.
            disabled_at (datetime.datetime | Unset): When it was disabled; a disabled workflow starts no new run.
     """

    created_at: datetime.datetime
    definition: Any
    id: UUID
    name: str
    updated_at: datetime.datetime
    version: int
    disabled_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        definition = self.definition

        id = str(self.id)

        name = self.name

        updated_at = self.updated_at.isoformat()

        version = self.version

        disabled_at: str | Unset = UNSET
        if not isinstance(self.disabled_at, Unset):
            disabled_at = self.disabled_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "definition": definition,
            "id": id,
            "name": name,
            "updated_at": updated_at,
            "version": version,
        })
        if disabled_at is not UNSET:
            field_dict["disabled_at"] = disabled_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        definition = d.pop("definition")

        id = UUID(d.pop("id"))




        name = d.pop("name")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        version = d.pop("version")

        _disabled_at = d.pop("disabled_at", UNSET)
        disabled_at: datetime.datetime | Unset
        if isinstance(_disabled_at,  Unset):
            disabled_at = UNSET
        else:
            disabled_at = datetime.datetime.fromisoformat(_disabled_at)




        workflow = cls(
            created_at=created_at,
            definition=definition,
            id=id,
            name=name,
            updated_at=updated_at,
            version=version,
            disabled_at=disabled_at,
        )


        workflow.additional_properties = d
        return workflow

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
