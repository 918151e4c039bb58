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

if TYPE_CHECKING:
  from ..models.tenant_kind_limits import TenantKindLimits





T = TypeVar("T", bound="Tenant")



@_attrs_define
class Tenant:
    """ A tenant and its settings.

        Attributes:
            created_at (datetime.datetime): When it was created.
            id (UUID): Its id.
            kind_limits (TenantKindLimits): Most of its jobs of a kind running at once, per kind (`{"classify_signal": 4}`);
                such
                jobs carry the concurrency key `kind:<kind>`. Operator-set.
            name (str): Its name.
            queue_weight (int): Its weight when tenants share the workers: a tenant of weight 3 gets three times the
                claims of one of weight 1 while both have work. Set by the operator (`api
                set-tenant-queue`), not through the API.
            rate_limit_burst (int): Requests a key may make in a burst (per api process).
            rate_limit_per_second (int): Requests a second each of its keys may make, sustained (per api process; no more
                than
                the server's ceiling, whatever is stored).
            updated_at (datetime.datetime): When its settings last changed.
            job_retention_secs (int | Unset): How long its succeeded and cancelled jobs are kept, in seconds; null means the
                server's
                default (`JOB_RETENTION_SECS`).
            max_running (int | Unset): Most of its jobs running at once across every worker; absent: no cap. Operator-set.
     """

    created_at: datetime.datetime
    id: UUID
    kind_limits: TenantKindLimits
    name: str
    queue_weight: int
    rate_limit_burst: int
    rate_limit_per_second: int
    updated_at: datetime.datetime
    job_retention_secs: int | Unset = UNSET
    max_running: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.tenant_kind_limits import TenantKindLimits # noqa: PLC0415
        created_at = self.created_at.isoformat()

        id = str(self.id)

        kind_limits = self.kind_limits.to_dict()

        name = self.name

        queue_weight = self.queue_weight

        rate_limit_burst = self.rate_limit_burst

        rate_limit_per_second = self.rate_limit_per_second

        updated_at = self.updated_at.isoformat()

        job_retention_secs = self.job_retention_secs

        max_running = self.max_running


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "id": id,
            "kind_limits": kind_limits,
            "name": name,
            "queue_weight": queue_weight,
            "rate_limit_burst": rate_limit_burst,
            "rate_limit_per_second": rate_limit_per_second,
            "updated_at": updated_at,
        })
        if job_retention_secs is not UNSET:
            field_dict["job_retention_secs"] = job_retention_secs
        if max_running is not UNSET:
            field_dict["max_running"] = max_running

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tenant_kind_limits import TenantKindLimits # noqa: PLC0415
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        kind_limits = TenantKindLimits.from_dict(d.pop("kind_limits"))




        name = d.pop("name")

        queue_weight = d.pop("queue_weight")

        rate_limit_burst = d.pop("rate_limit_burst")

        rate_limit_per_second = d.pop("rate_limit_per_second")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        job_retention_secs = d.pop("job_retention_secs", UNSET)

        max_running = d.pop("max_running", UNSET)

        tenant = cls(
            created_at=created_at,
            id=id,
            kind_limits=kind_limits,
            name=name,
            queue_weight=queue_weight,
            rate_limit_burst=rate_limit_burst,
            rate_limit_per_second=rate_limit_per_second,
            updated_at=updated_at,
            job_retention_secs=job_retention_secs,
            max_running=max_running,
        )


        tenant.additional_properties = d
        return tenant

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
