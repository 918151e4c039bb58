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






T = TypeVar("T", bound="Export")



@_attrs_define
class Export:
    """ An export of a lead to a partner.

        Attributes:
            attempts (int): Requests sent.
            created_at (datetime.datetime): When it was made.
            currency (str): The currency.
            exclusive (bool): Sold exclusively.
            id (UUID): Its id: the `Idempotency-Key` of every ping and post.
            partner_id (UUID): The partner.
            state (str): `pending`, `posted`, `accepted`, `converted`, `returned`, `rejected`, `duplicate` or
                `failed`.
            confirmed_at (datetime.datetime | Unset): When the sale was confirmed.
            excerpt (str | Unset): The start of the last answer.
            last_status (int | Unset): The last answer's status.
            partner_lead_id (str | Unset): The partner's lead id.
            price_cents (int | Unset): The price in cents.
            reason (str | Unset): Why it was refused, failed or returned.
     """

    attempts: int
    created_at: datetime.datetime
    currency: str
    exclusive: bool
    id: UUID
    partner_id: UUID
    state: str
    confirmed_at: datetime.datetime | Unset = UNSET
    excerpt: str | Unset = UNSET
    last_status: int | Unset = UNSET
    partner_lead_id: str | Unset = UNSET
    price_cents: int | Unset = UNSET
    reason: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        attempts = self.attempts

        created_at = self.created_at.isoformat()

        currency = self.currency

        exclusive = self.exclusive

        id = str(self.id)

        partner_id = str(self.partner_id)

        state = self.state

        confirmed_at: str | Unset = UNSET
        if not isinstance(self.confirmed_at, Unset):
            confirmed_at = self.confirmed_at.isoformat()

        excerpt = self.excerpt

        last_status = self.last_status

        partner_lead_id = self.partner_lead_id

        price_cents = self.price_cents

        reason = self.reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attempts": attempts,
            "created_at": created_at,
            "currency": currency,
            "exclusive": exclusive,
            "id": id,
            "partner_id": partner_id,
            "state": state,
        })
        if confirmed_at is not UNSET:
            field_dict["confirmed_at"] = confirmed_at
        if excerpt is not UNSET:
            field_dict["excerpt"] = excerpt
        if last_status is not UNSET:
            field_dict["last_status"] = last_status
        if partner_lead_id is not UNSET:
            field_dict["partner_lead_id"] = partner_lead_id
        if price_cents is not UNSET:
            field_dict["price_cents"] = price_cents
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempts = d.pop("attempts")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        currency = d.pop("currency")

        exclusive = d.pop("exclusive")

        id = UUID(d.pop("id"))




        partner_id = UUID(d.pop("partner_id"))




        state = d.pop("state")

        _confirmed_at = d.pop("confirmed_at", UNSET)
        confirmed_at: datetime.datetime | Unset
        if isinstance(_confirmed_at,  Unset):
            confirmed_at = UNSET
        else:
            confirmed_at = datetime.datetime.fromisoformat(_confirmed_at)




        excerpt = d.pop("excerpt", UNSET)

        last_status = d.pop("last_status", UNSET)

        partner_lead_id = d.pop("partner_lead_id", UNSET)

        price_cents = d.pop("price_cents", UNSET)

        reason = d.pop("reason", UNSET)

        export = cls(
            attempts=attempts,
            created_at=created_at,
            currency=currency,
            exclusive=exclusive,
            id=id,
            partner_id=partner_id,
            state=state,
            confirmed_at=confirmed_at,
            excerpt=excerpt,
            last_status=last_status,
            partner_lead_id=partner_lead_id,
            price_cents=price_cents,
            reason=reason,
        )


        export.additional_properties = d
        return export

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
