from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.ingest_report_rejected import IngestReportRejected





T = TypeVar("T", bound="IngestReport")



@_attrs_define
class IngestReport:
    """ What an ingest did.

        Attributes:
            duplicates (int): Items already held (same content).
            inserted (int): New signals.
            items (int): Items read.
            near_duplicates (int): Near duplicates, stored `discarded` and linked to their original.
            rejected (IngestReportRejected): Items refused by a quality gate, by reason.
     """

    duplicates: int
    inserted: int
    items: int
    near_duplicates: int
    rejected: IngestReportRejected
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.ingest_report_rejected import IngestReportRejected # noqa: PLC0415
        duplicates = self.duplicates

        inserted = self.inserted

        items = self.items

        near_duplicates = self.near_duplicates

        rejected = self.rejected.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "duplicates": duplicates,
            "inserted": inserted,
            "items": items,
            "near_duplicates": near_duplicates,
            "rejected": rejected,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.ingest_report_rejected import IngestReportRejected # noqa: PLC0415
        d = dict(src_dict)
        duplicates = d.pop("duplicates")

        inserted = d.pop("inserted")

        items = d.pop("items")

        near_duplicates = d.pop("near_duplicates")

        rejected = IngestReportRejected.from_dict(d.pop("rejected"))




        ingest_report = cls(
            duplicates=duplicates,
            inserted=inserted,
            items=items,
            near_duplicates=near_duplicates,
            rejected=rejected,
        )


        ingest_report.additional_properties = d
        return ingest_report

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
