from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="RulesetVersion")



@_attrs_define
class RulesetVersion:
    """ One version of a ruleset.

        Attributes:
            created_at (datetime.datetime): When it was added.
            rules (Any): Its rules.
            ruleset_id (UUID): The ruleset.
            version (int): Its number.
     """

    created_at: datetime.datetime
    rules: Any
    ruleset_id: UUID
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        rules = self.rules

        ruleset_id = str(self.ruleset_id)

        version = self.version


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "rules": rules,
            "ruleset_id": ruleset_id,
            "version": version,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        rules = d.pop("rules")

        ruleset_id = UUID(d.pop("ruleset_id"))




        version = d.pop("version")

        ruleset_version = cls(
            created_at=created_at,
            rules=rules,
            ruleset_id=ruleset_id,
            version=version,
        )


        ruleset_version.additional_properties = d
        return ruleset_version

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
