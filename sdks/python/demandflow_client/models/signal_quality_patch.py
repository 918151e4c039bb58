from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="SignalQualityPatch")



@_attrs_define
class SignalQualityPatch:
    """ A change to the quality settings; absent fields stay as they are.

        Attributes:
            blocklist (list[str] | Unset): Blocked phrases.
            expire_after_secs (int | None | Unset): Expiry of open signals in seconds (3600 to 315360000), or null for
                never.
            languages (list[str] | Unset): Accepted languages.
            max_link_density (float | Unset): Most links per word.
            max_repeated_chars (int | Unset): Most repeats of one character.
            min_length (int | Unset): Fewest characters.
            near_duplicate_window_secs (int | Unset): Near-duplicate window.
            retention_secs (int | None | Unset): Retention in seconds (3600 to 315360000), or null to keep signals.
            simhash_threshold (int | Unset): Near-duplicate threshold.
     """

    blocklist: list[str] | Unset = UNSET
    expire_after_secs: int | None | Unset = UNSET
    languages: list[str] | Unset = UNSET
    max_link_density: float | Unset = UNSET
    max_repeated_chars: int | Unset = UNSET
    min_length: int | Unset = UNSET
    near_duplicate_window_secs: int | Unset = UNSET
    retention_secs: int | None | Unset = UNSET
    simhash_threshold: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        blocklist: list[str] | Unset = UNSET
        if not isinstance(self.blocklist, Unset):
            blocklist = self.blocklist



        expire_after_secs: int | None | Unset
        if isinstance(self.expire_after_secs, Unset):
            expire_after_secs = UNSET
        else:
            expire_after_secs = self.expire_after_secs

        languages: list[str] | Unset = UNSET
        if not isinstance(self.languages, Unset):
            languages = self.languages



        max_link_density = self.max_link_density

        max_repeated_chars = self.max_repeated_chars

        min_length = self.min_length

        near_duplicate_window_secs = self.near_duplicate_window_secs

        retention_secs: int | None | Unset
        if isinstance(self.retention_secs, Unset):
            retention_secs = UNSET
        else:
            retention_secs = self.retention_secs

        simhash_threshold = self.simhash_threshold


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if blocklist is not UNSET:
            field_dict["blocklist"] = blocklist
        if expire_after_secs is not UNSET:
            field_dict["expire_after_secs"] = expire_after_secs
        if languages is not UNSET:
            field_dict["languages"] = languages
        if max_link_density is not UNSET:
            field_dict["max_link_density"] = max_link_density
        if max_repeated_chars is not UNSET:
            field_dict["max_repeated_chars"] = max_repeated_chars
        if min_length is not UNSET:
            field_dict["min_length"] = min_length
        if near_duplicate_window_secs is not UNSET:
            field_dict["near_duplicate_window_secs"] = near_duplicate_window_secs
        if retention_secs is not UNSET:
            field_dict["retention_secs"] = retention_secs
        if simhash_threshold is not UNSET:
            field_dict["simhash_threshold"] = simhash_threshold

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        blocklist = cast(list[str], d.pop("blocklist", UNSET))


        def _parse_expire_after_secs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        expire_after_secs = _parse_expire_after_secs(d.pop("expire_after_secs", UNSET))


        languages = cast(list[str], d.pop("languages", UNSET))


        max_link_density = d.pop("max_link_density", UNSET)

        max_repeated_chars = d.pop("max_repeated_chars", UNSET)

        min_length = d.pop("min_length", UNSET)

        near_duplicate_window_secs = d.pop("near_duplicate_window_secs", UNSET)

        def _parse_retention_secs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        retention_secs = _parse_retention_secs(d.pop("retention_secs", UNSET))


        simhash_threshold = d.pop("simhash_threshold", UNSET)

        signal_quality_patch = cls(
            blocklist=blocklist,
            expire_after_secs=expire_after_secs,
            languages=languages,
            max_link_density=max_link_density,
            max_repeated_chars=max_repeated_chars,
            min_length=min_length,
            near_duplicate_window_secs=near_duplicate_window_secs,
            retention_secs=retention_secs,
            simhash_threshold=simhash_threshold,
        )


        signal_quality_patch.additional_properties = d
        return signal_quality_patch

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
