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
  from ..models.lead_contact import LeadContact
  from ..models.lead_factor import LeadFactor
  from ..models.lead_signal import LeadSignal





T = TypeVar("T", bound="LeadDetail")



@_attrs_define
class LeadDetail:
    """ A lead with every contact it owns and its signals (best score first).

        Attributes:
            contacts (list[LeadContact]): Its contacts.
            created_at (datetime.datetime): When it was made.
            factors (list[LeadFactor]): That signal's factors: the score is the rounded sum of their `points`.
            id (UUID): Its id (UUIDv7: sorts by creation time).
            score (int): The best score of its signals, 0 to 100.
            scored_at (datetime.datetime): When it was last scored.
            signal_count (int): How many signals it has.
            signals (list[LeadSignal]): Its signals.
            status (str): Where it is in its life.
            updated_at (datetime.datetime): When it last changed.
            category (str | Unset): The latest classification category it was scored with.
            deleted_at (datetime.datetime | Unset): When it was soft-deleted (only in a GDPR export).
            email (str | Unset): The first email address found (the domain lower-cased).
            phone (str | Unset): The first phone number found, in E.164.
            source_id (UUID | Unset): The source of the signal that made it.
     """

    contacts: list[LeadContact]
    created_at: datetime.datetime
    factors: list[LeadFactor]
    id: UUID
    score: int
    scored_at: datetime.datetime
    signal_count: int
    signals: list[LeadSignal]
    status: str
    updated_at: datetime.datetime
    category: str | Unset = UNSET
    deleted_at: datetime.datetime | Unset = UNSET
    email: str | Unset = UNSET
    phone: str | Unset = UNSET
    source_id: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.lead_contact import LeadContact # noqa: PLC0415
        from ..models.lead_factor import LeadFactor # noqa: PLC0415
        from ..models.lead_signal import LeadSignal # noqa: PLC0415
        contacts = []
        for contacts_item_data in self.contacts:
            contacts_item = contacts_item_data.to_dict()
            contacts.append(contacts_item)



        created_at = self.created_at.isoformat()

        factors = []
        for factors_item_data in self.factors:
            factors_item = factors_item_data.to_dict()
            factors.append(factors_item)



        id = str(self.id)

        score = self.score

        scored_at = self.scored_at.isoformat()

        signal_count = self.signal_count

        signals = []
        for signals_item_data in self.signals:
            signals_item = signals_item_data.to_dict()
            signals.append(signals_item)



        status = self.status

        updated_at = self.updated_at.isoformat()

        category = self.category

        deleted_at: str | Unset = UNSET
        if not isinstance(self.deleted_at, Unset):
            deleted_at = self.deleted_at.isoformat()

        email = self.email

        phone = self.phone

        source_id: str | Unset = UNSET
        if not isinstance(self.source_id, Unset):
            source_id = str(self.source_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "contacts": contacts,
            "created_at": created_at,
            "factors": factors,
            "id": id,
            "score": score,
            "scored_at": scored_at,
            "signal_count": signal_count,
            "signals": signals,
            "status": status,
            "updated_at": updated_at,
        })
        if category is not UNSET:
            field_dict["category"] = category
        if deleted_at is not UNSET:
            field_dict["deleted_at"] = deleted_at
        if email is not UNSET:
            field_dict["email"] = email
        if phone is not UNSET:
            field_dict["phone"] = phone
        if source_id is not UNSET:
            field_dict["source_id"] = source_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lead_contact import LeadContact # noqa: PLC0415
        from ..models.lead_factor import LeadFactor # noqa: PLC0415
        from ..models.lead_signal import LeadSignal # noqa: PLC0415
        d = dict(src_dict)
        contacts = []
        _contacts = d.pop("contacts")
        for contacts_item_data in (_contacts):
            contacts_item = LeadContact.from_dict(contacts_item_data)



            contacts.append(contacts_item)


        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        factors = []
        _factors = d.pop("factors")
        for factors_item_data in (_factors):
            factors_item = LeadFactor.from_dict(factors_item_data)



            factors.append(factors_item)


        id = UUID(d.pop("id"))




        score = d.pop("score")

        scored_at = datetime.datetime.fromisoformat(d.pop("scored_at"))




        signal_count = d.pop("signal_count")

        signals = []
        _signals = d.pop("signals")
        for signals_item_data in (_signals):
            signals_item = LeadSignal.from_dict(signals_item_data)



            signals.append(signals_item)


        status = d.pop("status")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        category = d.pop("category", UNSET)

        _deleted_at = d.pop("deleted_at", UNSET)
        deleted_at: datetime.datetime | Unset
        if isinstance(_deleted_at,  Unset):
            deleted_at = UNSET
        else:
            deleted_at = datetime.datetime.fromisoformat(_deleted_at)




        email = d.pop("email", UNSET)

        phone = d.pop("phone", UNSET)

        _source_id = d.pop("source_id", UNSET)
        source_id: UUID | Unset
        if isinstance(_source_id,  Unset):
            source_id = UNSET
        else:
            source_id = UUID(_source_id)




        lead_detail = cls(
            contacts=contacts,
            created_at=created_at,
            factors=factors,
            id=id,
            score=score,
            scored_at=scored_at,
            signal_count=signal_count,
            signals=signals,
            status=status,
            updated_at=updated_at,
            category=category,
            deleted_at=deleted_at,
            email=email,
            phone=phone,
            source_id=source_id,
        )


        lead_detail.additional_properties = d
        return lead_detail

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
