from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from uuid import UUID






T = TypeVar("T", bound="ClassifySignalArgs")



@_attrs_define
class ClassifySignalArgs:
    """ Args of a `classify_signal` job.

        Attributes:
            ruleset_id (UUID): A ruleset of the caller's tenant.
            signal_id (UUID): A signal of the caller's tenant.
            version (int | Unset): Pin a version (1 to 1000000; default: the newest when the job runs).
     """

    ruleset_id: UUID
    signal_id: UUID
    version: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        ruleset_id = str(self.ruleset_id)

        signal_id = str(self.signal_id)

        version = self.version


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "ruleset_id": ruleset_id,
            "signal_id": signal_id,
        })
        if version is not UNSET:
            field_dict["version"] = version

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        ruleset_id = UUID(d.pop("ruleset_id"))




        signal_id = UUID(d.pop("signal_id"))




        version = d.pop("version", UNSET)

        classify_signal_args = cls(
            ruleset_id=ruleset_id,
            signal_id=signal_id,
            version=version,
        )


        classify_signal_args.additional_properties = d
        return classify_signal_args

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
