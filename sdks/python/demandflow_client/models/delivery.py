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
  from ..models.delivery_attempt import DeliveryAttempt





T = TypeVar("T", bound="Delivery")



@_attrs_define
class Delivery:
    """ A message to a destination or a subscription.

        Attributes:
            attempts (int): Attempts made (a 429 does not count).
            created_at (datetime.datetime): When it was written.
            delivery_key (str): Its unique key: one delivery per key, ever.
            event_type (str): The event's type.
            id (UUID): Its id: the `webhook-id` a receiver sees, and the email's Message-ID.
            state (str): `pending`, `sent`, `confirmed`, `failed` (retrying), `dead` or `suppressed`.
            subject (str): What it is about (`signal:<id>`, `lead:<id>`, `digest:<rule>`, ...).
            updated_at (datetime.datetime): When it last changed.
            attempts_log (list[DeliveryAttempt] | Unset): Every attempt, oldest first (on `getDelivery` only).
            data (Any | Unset): The message's data (on `getDelivery` only).
            destination_id (UUID | Unset): Its destination, for an alert.
            event_id (UUID | Unset): The event it tells of (none for digests and tests).
            job_id (UUID | Unset): The latest `deliver` job.
            last_status (int | Unset): The last answer's status.
            reason (str | Unset): Why it is dead or suppressed.
            receipt (str | Unset): The provider's message id (Discord, Telegram), or the email's Message-ID.
            rule_id (UUID | Unset): The rule that made it.
            sent_at (datetime.datetime | Unset): When the service accepted it.
            subscription_id (UUID | Unset): Its subscription, for an event webhook.
     """

    attempts: int
    created_at: datetime.datetime
    delivery_key: str
    event_type: str
    id: UUID
    state: str
    subject: str
    updated_at: datetime.datetime
    attempts_log: list[DeliveryAttempt] | Unset = UNSET
    data: Any | Unset = UNSET
    destination_id: UUID | Unset = UNSET
    event_id: UUID | Unset = UNSET
    job_id: UUID | Unset = UNSET
    last_status: int | Unset = UNSET
    reason: str | Unset = UNSET
    receipt: str | Unset = UNSET
    rule_id: UUID | Unset = UNSET
    sent_at: datetime.datetime | Unset = UNSET
    subscription_id: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.delivery_attempt import DeliveryAttempt # noqa: PLC0415
        attempts = self.attempts

        created_at = self.created_at.isoformat()

        delivery_key = self.delivery_key

        event_type = self.event_type

        id = str(self.id)

        state = self.state

        subject = self.subject

        updated_at = self.updated_at.isoformat()

        attempts_log: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.attempts_log, Unset):
            attempts_log = []
            for attempts_log_item_data in self.attempts_log:
                attempts_log_item = attempts_log_item_data.to_dict()
                attempts_log.append(attempts_log_item)



        data = self.data

        destination_id: str | Unset = UNSET
        if not isinstance(self.destination_id, Unset):
            destination_id = str(self.destination_id)

        event_id: str | Unset = UNSET
        if not isinstance(self.event_id, Unset):
            event_id = str(self.event_id)

        job_id: str | Unset = UNSET
        if not isinstance(self.job_id, Unset):
            job_id = str(self.job_id)

        last_status = self.last_status

        reason = self.reason

        receipt = self.receipt

        rule_id: str | Unset = UNSET
        if not isinstance(self.rule_id, Unset):
            rule_id = str(self.rule_id)

        sent_at: str | Unset = UNSET
        if not isinstance(self.sent_at, Unset):
            sent_at = self.sent_at.isoformat()

        subscription_id: str | Unset = UNSET
        if not isinstance(self.subscription_id, Unset):
            subscription_id = str(self.subscription_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attempts": attempts,
            "created_at": created_at,
            "delivery_key": delivery_key,
            "event_type": event_type,
            "id": id,
            "state": state,
            "subject": subject,
            "updated_at": updated_at,
        })
        if attempts_log is not UNSET:
            field_dict["attempts_log"] = attempts_log
        if data is not UNSET:
            field_dict["data"] = data
        if destination_id is not UNSET:
            field_dict["destination_id"] = destination_id
        if event_id is not UNSET:
            field_dict["event_id"] = event_id
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if last_status is not UNSET:
            field_dict["last_status"] = last_status
        if reason is not UNSET:
            field_dict["reason"] = reason
        if receipt is not UNSET:
            field_dict["receipt"] = receipt
        if rule_id is not UNSET:
            field_dict["rule_id"] = rule_id
        if sent_at is not UNSET:
            field_dict["sent_at"] = sent_at
        if subscription_id is not UNSET:
            field_dict["subscription_id"] = subscription_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.delivery_attempt import DeliveryAttempt # noqa: PLC0415
        d = dict(src_dict)
        attempts = d.pop("attempts")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        delivery_key = d.pop("delivery_key")

        event_type = d.pop("event_type")

        id = UUID(d.pop("id"))




        state = d.pop("state")

        subject = d.pop("subject")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        _attempts_log = d.pop("attempts_log", UNSET)
        attempts_log: list[DeliveryAttempt] | Unset = UNSET
        if _attempts_log is not UNSET:
            attempts_log = []
            for attempts_log_item_data in _attempts_log:
                attempts_log_item = DeliveryAttempt.from_dict(attempts_log_item_data)



                attempts_log.append(attempts_log_item)


        data = d.pop("data", UNSET)

        _destination_id = d.pop("destination_id", UNSET)
        destination_id: UUID | Unset
        if isinstance(_destination_id,  Unset):
            destination_id = UNSET
        else:
            destination_id = UUID(_destination_id)




        _event_id = d.pop("event_id", UNSET)
        event_id: UUID | Unset
        if isinstance(_event_id,  Unset):
            event_id = UNSET
        else:
            event_id = UUID(_event_id)




        _job_id = d.pop("job_id", UNSET)
        job_id: UUID | Unset
        if isinstance(_job_id,  Unset):
            job_id = UNSET
        else:
            job_id = UUID(_job_id)




        last_status = d.pop("last_status", UNSET)

        reason = d.pop("reason", UNSET)

        receipt = d.pop("receipt", UNSET)

        _rule_id = d.pop("rule_id", UNSET)
        rule_id: UUID | Unset
        if isinstance(_rule_id,  Unset):
            rule_id = UNSET
        else:
            rule_id = UUID(_rule_id)




        _sent_at = d.pop("sent_at", UNSET)
        sent_at: datetime.datetime | Unset
        if isinstance(_sent_at,  Unset):
            sent_at = UNSET
        else:
            sent_at = datetime.datetime.fromisoformat(_sent_at)




        _subscription_id = d.pop("subscription_id", UNSET)
        subscription_id: UUID | Unset
        if isinstance(_subscription_id,  Unset):
            subscription_id = UNSET
        else:
            subscription_id = UUID(_subscription_id)




        delivery = cls(
            attempts=attempts,
            created_at=created_at,
            delivery_key=delivery_key,
            event_type=event_type,
            id=id,
            state=state,
            subject=subject,
            updated_at=updated_at,
            attempts_log=attempts_log,
            data=data,
            destination_id=destination_id,
            event_id=event_id,
            job_id=job_id,
            last_status=last_status,
            reason=reason,
            receipt=receipt,
            rule_id=rule_id,
            sent_at=sent_at,
            subscription_id=subscription_id,
        )


        delivery.additional_properties = d
        return delivery

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
