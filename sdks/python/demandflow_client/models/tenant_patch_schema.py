from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="TenantPatchSchema")



@_attrs_define
class TenantPatchSchema:
    """ The request body of `updateTenant`: only the fields to change.

        Attributes:
            job_retention_secs (int | None | Unset): 60 to 31536000 seconds, or null for the server's default.
            rate_limit_burst (int | Unset): 1 to 100000, and no more than the server's ceiling (`TENANT_MAX_BURST`).
            rate_limit_per_second (int | Unset): 1 to 100000, and no more than the server's ceiling
                (`TENANT_MAX_RATE_PER_SECOND`).
     """

    job_retention_secs: int | None | Unset = UNSET
    rate_limit_burst: int | Unset = UNSET
    rate_limit_per_second: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        job_retention_secs: int | None | Unset
        if isinstance(self.job_retention_secs, Unset):
            job_retention_secs = UNSET
        else:
            job_retention_secs = self.job_retention_secs

        rate_limit_burst = self.rate_limit_burst

        rate_limit_per_second = self.rate_limit_per_second


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if job_retention_secs is not UNSET:
            field_dict["job_retention_secs"] = job_retention_secs
        if rate_limit_burst is not UNSET:
            field_dict["rate_limit_burst"] = rate_limit_burst
        if rate_limit_per_second is not UNSET:
            field_dict["rate_limit_per_second"] = rate_limit_per_second

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_job_retention_secs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        job_retention_secs = _parse_job_retention_secs(d.pop("job_retention_secs", UNSET))


        rate_limit_burst = d.pop("rate_limit_burst", UNSET)

        rate_limit_per_second = d.pop("rate_limit_per_second", UNSET)

        tenant_patch_schema = cls(
            job_retention_secs=job_retention_secs,
            rate_limit_burst=rate_limit_burst,
            rate_limit_per_second=rate_limit_per_second,
        )


        tenant_patch_schema.additional_properties = d
        return tenant_patch_schema

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
