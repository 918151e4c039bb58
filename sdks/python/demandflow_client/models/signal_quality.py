from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.rejection_count import RejectionCount
  from ..models.signal_quality_settings import SignalQualitySettings





T = TypeVar("T", bound="SignalQuality")



@_attrs_define
class SignalQuality:
    """ The quality settings and what they refused.

        Attributes:
            rejections (list[RejectionCount]): Rejections per source and reason.
            settings (SignalQualitySettings): A tenant's quality gates, near-duplicate settings and signal retention.
     """

    rejections: list[RejectionCount]
    settings: SignalQualitySettings
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.rejection_count import RejectionCount # noqa: PLC0415
        from ..models.signal_quality_settings import SignalQualitySettings # noqa: PLC0415
        rejections = []
        for rejections_item_data in self.rejections:
            rejections_item = rejections_item_data.to_dict()
            rejections.append(rejections_item)



        settings = self.settings.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "rejections": rejections,
            "settings": settings,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.rejection_count import RejectionCount # noqa: PLC0415
        from ..models.signal_quality_settings import SignalQualitySettings # noqa: PLC0415
        d = dict(src_dict)
        rejections = []
        _rejections = d.pop("rejections")
        for rejections_item_data in (_rejections):
            rejections_item = RejectionCount.from_dict(rejections_item_data)



            rejections.append(rejections_item)


        settings = SignalQualitySettings.from_dict(d.pop("settings"))




        signal_quality = cls(
            rejections=rejections,
            settings=settings,
        )


        signal_quality.additional_properties = d
        return signal_quality

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
