from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="DestinationPatch")



@_attrs_define
class DestinationPatch:
    """ A change of a destination; every field is optional. `settings` replaces the public and
    secret settings together.

        Attributes:
            enabled (bool | Unset): Enable or disable (enabling clears the reason it was disabled).
            name (str | Unset): A new name.
            rate_limit_per_min (int | Unset): A new pace.
            settings (Any | Unset): New settings, as at creation.
     """

    enabled: bool | Unset = UNSET
    name: str | Unset = UNSET
    rate_limit_per_min: int | Unset = UNSET
    settings: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        enabled = self.enabled

        name = self.name

        rate_limit_per_min = self.rate_limit_per_min

        settings = self.settings


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if name is not UNSET:
            field_dict["name"] = name
        if rate_limit_per_min is not UNSET:
            field_dict["rate_limit_per_min"] = rate_limit_per_min
        if settings is not UNSET:
            field_dict["settings"] = settings

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        enabled = d.pop("enabled", UNSET)

        name = d.pop("name", UNSET)

        rate_limit_per_min = d.pop("rate_limit_per_min", UNSET)

        settings = d.pop("settings", UNSET)

        destination_patch = cls(
            enabled=enabled,
            name=name,
            rate_limit_per_min=rate_limit_per_min,
            settings=settings,
        )


        destination_patch.additional_properties = d
        return destination_patch

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
