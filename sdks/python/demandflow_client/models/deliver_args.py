from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from uuid import UUID






T = TypeVar("T", bound="DeliverArgs")



@_attrs_define
class DeliverArgs:
    """ Args of a `deliver` job: `delivery_id` alone, or `destination_id` with `data` (and an
    optional `subject`: one alert per subject and destination, ever).

        Attributes:
            data (Any | Unset): The message's data: title, url, score, category, contact...
            delivery_id (UUID | Unset): A delivery of the caller's tenant (written by the dispatcher).
            destination_id (UUID | Unset): A destination of the caller's tenant.
            subject (str | Unset): What the alert is about (`signal:<id>`), 1 to 200 bytes.
     """

    data: Any | Unset = UNSET
    delivery_id: UUID | Unset = UNSET
    destination_id: UUID | Unset = UNSET
    subject: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        data = self.data

        delivery_id: str | Unset = UNSET
        if not isinstance(self.delivery_id, Unset):
            delivery_id = str(self.delivery_id)

        destination_id: str | Unset = UNSET
        if not isinstance(self.destination_id, Unset):
            destination_id = str(self.destination_id)

        subject = self.subject


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if data is not UNSET:
            field_dict["data"] = data
        if delivery_id is not UNSET:
            field_dict["delivery_id"] = delivery_id
        if destination_id is not UNSET:
            field_dict["destination_id"] = destination_id
        if subject is not UNSET:
            field_dict["subject"] = subject

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        data = d.pop("data", UNSET)

        _delivery_id = d.pop("delivery_id", UNSET)
        delivery_id: UUID | Unset
        if isinstance(_delivery_id,  Unset):
            delivery_id = UNSET
        else:
            delivery_id = UUID(_delivery_id)




        _destination_id = d.pop("destination_id", UNSET)
        destination_id: UUID | Unset
        if isinstance(_destination_id,  Unset):
            destination_id = UNSET
        else:
            destination_id = UUID(_destination_id)




        subject = d.pop("subject", UNSET)

        deliver_args = cls(
            data=data,
            delivery_id=delivery_id,
            destination_id=destination_id,
            subject=subject,
        )


        deliver_args.additional_properties = d
        return deliver_args

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
