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






T = TypeVar("T", bound="Recover")



@_attrs_define
class Recover:
    """ Send again every dead delivery since a time.

        Attributes:
            since (datetime.datetime): Deliveries written at or after this time (RFC 3339).
            destination_id (UUID | Unset): Only to this destination.
            subscription_id (UUID | Unset): Only to this subscription.
     """

    since: datetime.datetime
    destination_id: UUID | Unset = UNSET
    subscription_id: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        since = self.since.isoformat()

        destination_id: str | Unset = UNSET
        if not isinstance(self.destination_id, Unset):
            destination_id = str(self.destination_id)

        subscription_id: str | Unset = UNSET
        if not isinstance(self.subscription_id, Unset):
            subscription_id = str(self.subscription_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "since": since,
        })
        if destination_id is not UNSET:
            field_dict["destination_id"] = destination_id
        if subscription_id is not UNSET:
            field_dict["subscription_id"] = subscription_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        since = datetime.datetime.fromisoformat(d.pop("since"))




        _destination_id = d.pop("destination_id", UNSET)
        destination_id: UUID | Unset
        if isinstance(_destination_id,  Unset):
            destination_id = UNSET
        else:
            destination_id = UUID(_destination_id)




        _subscription_id = d.pop("subscription_id", UNSET)
        subscription_id: UUID | Unset
        if isinstance(_subscription_id,  Unset):
            subscription_id = UNSET
        else:
            subscription_id = UUID(_subscription_id)




        recover = cls(
            since=since,
            destination_id=destination_id,
            subscription_id=subscription_id,
        )


        recover.additional_properties = d
        return recover

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
