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






T = TypeVar("T", bound="Account")



@_attrs_define
class Account:
    """ An account (never its token).

        Attributes:
            base_url (str): The server.
            created_at (datetime.datetime): When it was created.
            enabled (bool): Whether posts go out.
            id (UUID): Its id.
            name (str): Its name.
            rate_limit_per_min (int): Requests a minute, across every worker.
            requires_approval (bool): Whether posts wait for an approval.
            updated_at (datetime.datetime): When it last changed.
            disabled_reason (str | Unset): Why it was disabled (a person, or the server refused the token).
     """

    base_url: str
    created_at: datetime.datetime
    enabled: bool
    id: UUID
    name: str
    rate_limit_per_min: int
    requires_approval: bool
    updated_at: datetime.datetime
    disabled_reason: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        base_url = self.base_url

        created_at = self.created_at.isoformat()

        enabled = self.enabled

        id = str(self.id)

        name = self.name

        rate_limit_per_min = self.rate_limit_per_min

        requires_approval = self.requires_approval

        updated_at = self.updated_at.isoformat()

        disabled_reason = self.disabled_reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "base_url": base_url,
            "created_at": created_at,
            "enabled": enabled,
            "id": id,
            "name": name,
            "rate_limit_per_min": rate_limit_per_min,
            "requires_approval": requires_approval,
            "updated_at": updated_at,
        })
        if disabled_reason is not UNSET:
            field_dict["disabled_reason"] = disabled_reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        base_url = d.pop("base_url")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        enabled = d.pop("enabled")

        id = UUID(d.pop("id"))




        name = d.pop("name")

        rate_limit_per_min = d.pop("rate_limit_per_min")

        requires_approval = d.pop("requires_approval")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        disabled_reason = d.pop("disabled_reason", UNSET)

        account = cls(
            base_url=base_url,
            created_at=created_at,
            enabled=enabled,
            id=id,
            name=name,
            rate_limit_per_min=rate_limit_per_min,
            requires_approval=requires_approval,
            updated_at=updated_at,
            disabled_reason=disabled_reason,
        )


        account.additional_properties = d
        return account

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
