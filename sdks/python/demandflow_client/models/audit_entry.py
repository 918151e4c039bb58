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






T = TypeVar("T", bound="AuditEntry")



@_attrs_define
class AuditEntry:
    """ One change.

        Attributes:
            action (str): What was done, e.g. `job.cancel`, `key.rotate`.
            at (datetime.datetime): When.
            id (UUID): Its id.
            target_id (str): Its id.
            target_type (str): The kind of thing changed: `job`, `job_batch`, `key`, `tenant`.
            actor_key_id (UUID | Unset): The key that made the change (none for the command line).
            actor_role (str | Unset): That key's role.
            after (Any | Unset): The state after (none when deleted); secrets are redacted.
            before (Any | Unset): The state before (none when created); secrets are redacted.
            client_addr (str | Unset): The client's address.
            request_id (str | Unset): The request's `X-Request-Id`.
     """

    action: str
    at: datetime.datetime
    id: UUID
    target_id: str
    target_type: str
    actor_key_id: UUID | Unset = UNSET
    actor_role: str | Unset = UNSET
    after: Any | Unset = UNSET
    before: Any | Unset = UNSET
    client_addr: str | Unset = UNSET
    request_id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        action = self.action

        at = self.at.isoformat()

        id = str(self.id)

        target_id = self.target_id

        target_type = self.target_type

        actor_key_id: str | Unset = UNSET
        if not isinstance(self.actor_key_id, Unset):
            actor_key_id = str(self.actor_key_id)

        actor_role = self.actor_role

        after = self.after

        before = self.before

        client_addr = self.client_addr

        request_id = self.request_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "action": action,
            "at": at,
            "id": id,
            "target_id": target_id,
            "target_type": target_type,
        })
        if actor_key_id is not UNSET:
            field_dict["actor_key_id"] = actor_key_id
        if actor_role is not UNSET:
            field_dict["actor_role"] = actor_role
        if after is not UNSET:
            field_dict["after"] = after
        if before is not UNSET:
            field_dict["before"] = before
        if client_addr is not UNSET:
            field_dict["client_addr"] = client_addr
        if request_id is not UNSET:
            field_dict["request_id"] = request_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = d.pop("action")

        at = datetime.datetime.fromisoformat(d.pop("at"))




        id = UUID(d.pop("id"))




        target_id = d.pop("target_id")

        target_type = d.pop("target_type")

        _actor_key_id = d.pop("actor_key_id", UNSET)
        actor_key_id: UUID | Unset
        if isinstance(_actor_key_id,  Unset):
            actor_key_id = UNSET
        else:
            actor_key_id = UUID(_actor_key_id)




        actor_role = d.pop("actor_role", UNSET)

        after = d.pop("after", UNSET)

        before = d.pop("before", UNSET)

        client_addr = d.pop("client_addr", UNSET)

        request_id = d.pop("request_id", UNSET)

        audit_entry = cls(
            action=action,
            at=at,
            id=id,
            target_id=target_id,
            target_type=target_type,
            actor_key_id=actor_key_id,
            actor_role=actor_role,
            after=after,
            before=before,
            client_addr=client_addr,
            request_id=request_id,
        )


        audit_entry.additional_properties = d
        return audit_entry

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
