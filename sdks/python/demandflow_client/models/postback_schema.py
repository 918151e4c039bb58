from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from uuid import UUID






T = TypeVar("T", bound="PostbackSchema")



@_attrs_define
class PostbackSchema:
    """ A postback: `{event: accepted | converted | returned, lead_id (yours) or reference (the
    idempotency key we sent), price?, reason?}`.

        Attributes:
            event (str): `accepted`, `converted` or `returned`.
            lead_id (str | Unset): Your lead id, as your answer to the post gave it.
            price (Any | Unset): The price, a decimal amount in the partner's currency.
            reason (str | Unset): Why (a return's reason).
            reference (UUID | Unset): The `Idempotency-Key` of our post.
     """

    event: str
    lead_id: str | Unset = UNSET
    price: Any | Unset = UNSET
    reason: str | Unset = UNSET
    reference: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        event = self.event

        lead_id = self.lead_id

        price = self.price

        reason = self.reason

        reference: str | Unset = UNSET
        if not isinstance(self.reference, Unset):
            reference = str(self.reference)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "event": event,
        })
        if lead_id is not UNSET:
            field_dict["lead_id"] = lead_id
        if price is not UNSET:
            field_dict["price"] = price
        if reason is not UNSET:
            field_dict["reason"] = reason
        if reference is not UNSET:
            field_dict["reference"] = reference

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event = d.pop("event")

        lead_id = d.pop("lead_id", UNSET)

        price = d.pop("price", UNSET)

        reason = d.pop("reason", UNSET)

        _reference = d.pop("reference", UNSET)
        reference: UUID | Unset
        if isinstance(_reference,  Unset):
            reference = UNSET
        else:
            reference = UUID(_reference)




        postback_schema = cls(
            event=event,
            lead_id=lead_id,
            price=price,
            reason=reason,
            reference=reference,
        )


        postback_schema.additional_properties = d
        return postback_schema

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
