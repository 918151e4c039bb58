from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="SignalQualitySettings")



@_attrs_define
class SignalQualitySettings:
    """ A tenant's quality gates, near-duplicate settings and signal retention.

        Attributes:
            blocklist (list[str]): Phrases that refuse a signal, case-insensitive (up to 1000).
            languages (list[str]): ISO 639-3 codes accepted (`eng`, `deu`); empty accepts every language. Signals whose
                language cannot be told pass.
            max_link_density (float): Most links per word (0 to 1; default 0.3).
            max_repeated_chars (int): Most repeats of one character in a row (2 to 1000; default 12).
            min_length (int): Fewest characters of title and text together (0 to 10000; default 20).
            near_duplicate_window_secs (int): How far back near duplicates are looked for, in seconds (default 7 days).
            simhash_threshold (int): Most differing simhash bits for a near duplicate (0 to 3; default 3).
            expire_after_secs (int | Unset): Signals still `new`, `classified` or `scored` this many seconds after ingest
                become
                `expired` (null: never).
            retention_secs (int | Unset): Signals older than this many seconds are purged (null: kept).
     """

    blocklist: list[str]
    languages: list[str]
    max_link_density: float
    max_repeated_chars: int
    min_length: int
    near_duplicate_window_secs: int
    simhash_threshold: int
    expire_after_secs: int | Unset = UNSET
    retention_secs: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        blocklist = self.blocklist



        languages = self.languages



        max_link_density = self.max_link_density

        max_repeated_chars = self.max_repeated_chars

        min_length = self.min_length

        near_duplicate_window_secs = self.near_duplicate_window_secs

        simhash_threshold = self.simhash_threshold

        expire_after_secs = self.expire_after_secs

        retention_secs = self.retention_secs


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "blocklist": blocklist,
            "languages": languages,
            "max_link_density": max_link_density,
            "max_repeated_chars": max_repeated_chars,
            "min_length": min_length,
            "near_duplicate_window_secs": near_duplicate_window_secs,
            "simhash_threshold": simhash_threshold,
        })
        if expire_after_secs is not UNSET:
            field_dict["expire_after_secs"] = expire_after_secs
        if retention_secs is not UNSET:
            field_dict["retention_secs"] = retention_secs

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        blocklist = cast(list[str], d.pop("blocklist"))


        languages = cast(list[str], d.pop("languages"))


        max_link_density = d.pop("max_link_density")

        max_repeated_chars = d.pop("max_repeated_chars")

        min_length = d.pop("min_length")

        near_duplicate_window_secs = d.pop("near_duplicate_window_secs")

        simhash_threshold = d.pop("simhash_threshold")

        expire_after_secs = d.pop("expire_after_secs", UNSET)

        retention_secs = d.pop("retention_secs", UNSET)

        signal_quality_settings = cls(
            blocklist=blocklist,
            languages=languages,
            max_link_density=max_link_density,
            max_repeated_chars=max_repeated_chars,
            min_length=min_length,
            near_duplicate_window_secs=near_duplicate_window_secs,
            simhash_threshold=simhash_threshold,
            expire_after_secs=expire_after_secs,
            retention_secs=retention_secs,
        )


        signal_quality_settings.additional_properties = d
        return signal_quality_settings

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
