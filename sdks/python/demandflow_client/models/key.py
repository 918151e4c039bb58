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






T = TypeVar("T", bound="Key")



@_attrs_define
class Key:
    """ A key, never its secret.

        Attributes:
            created_at (datetime.datetime): When it was created.
            id (UUID): Its id.
            name (str): What it is for.
            prefix (str): The visible start of the key, to tell keys apart.
            role (str): viewer, operator or admin.
            expires_at (datetime.datetime | Unset): When it stops working, if ever.
            last_used_at (datetime.datetime | Unset): When it was last used.
            previous_expires_at (datetime.datetime | Unset): Until when the secret before the last rotation still works.
            revoked_at (datetime.datetime | Unset): When it was revoked.
            rotated_at (datetime.datetime | Unset): When it was last rotated.
     """

    created_at: datetime.datetime
    id: UUID
    name: str
    prefix: str
    role: str
    expires_at: datetime.datetime | Unset = UNSET
    last_used_at: datetime.datetime | Unset = UNSET
    previous_expires_at: datetime.datetime | Unset = UNSET
    revoked_at: datetime.datetime | Unset = UNSET
    rotated_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        id = str(self.id)

        name = self.name

        prefix = self.prefix

        role = self.role

        expires_at: str | Unset = UNSET
        if not isinstance(self.expires_at, Unset):
            expires_at = self.expires_at.isoformat()

        last_used_at: str | Unset = UNSET
        if not isinstance(self.last_used_at, Unset):
            last_used_at = self.last_used_at.isoformat()

        previous_expires_at: str | Unset = UNSET
        if not isinstance(self.previous_expires_at, Unset):
            previous_expires_at = self.previous_expires_at.isoformat()

        revoked_at: str | Unset = UNSET
        if not isinstance(self.revoked_at, Unset):
            revoked_at = self.revoked_at.isoformat()

        rotated_at: str | Unset = UNSET
        if not isinstance(self.rotated_at, Unset):
            rotated_at = self.rotated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "id": id,
            "name": name,
            "prefix": prefix,
            "role": role,
        })
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if last_used_at is not UNSET:
            field_dict["last_used_at"] = last_used_at
        if previous_expires_at is not UNSET:
            field_dict["previous_expires_at"] = previous_expires_at
        if revoked_at is not UNSET:
            field_dict["revoked_at"] = revoked_at
        if rotated_at is not UNSET:
            field_dict["rotated_at"] = rotated_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        name = d.pop("name")

        prefix = d.pop("prefix")

        role = d.pop("role")

        _expires_at = d.pop("expires_at", UNSET)
        expires_at: datetime.datetime | Unset
        if isinstance(_expires_at,  Unset):
            expires_at = UNSET
        else:
            expires_at = datetime.datetime.fromisoformat(_expires_at)




        _last_used_at = d.pop("last_used_at", UNSET)
        last_used_at: datetime.datetime | Unset
        if isinstance(_last_used_at,  Unset):
            last_used_at = UNSET
        else:
            last_used_at = datetime.datetime.fromisoformat(_last_used_at)




        _previous_expires_at = d.pop("previous_expires_at", UNSET)
        previous_expires_at: datetime.datetime | Unset
        if isinstance(_previous_expires_at,  Unset):
            previous_expires_at = UNSET
        else:
            previous_expires_at = datetime.datetime.fromisoformat(_previous_expires_at)




        _revoked_at = d.pop("revoked_at", UNSET)
        revoked_at: datetime.datetime | Unset
        if isinstance(_revoked_at,  Unset):
            revoked_at = UNSET
        else:
            revoked_at = datetime.datetime.fromisoformat(_revoked_at)




        _rotated_at = d.pop("rotated_at", UNSET)
        rotated_at: datetime.datetime | Unset
        if isinstance(_rotated_at,  Unset):
            rotated_at = UNSET
        else:
            rotated_at = datetime.datetime.fromisoformat(_rotated_at)




        key = cls(
            created_at=created_at,
            id=id,
            name=name,
            prefix=prefix,
            role=role,
            expires_at=expires_at,
            last_used_at=last_used_at,
            previous_expires_at=previous_expires_at,
            revoked_at=revoked_at,
            rotated_at=rotated_at,
        )


        key.additional_properties = d
        return key

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
