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






T = TypeVar("T", bound="CostEntry")



@_attrs_define
class CostEntry:
    """ One row of the cost ledger.

        Attributes:
            amount_micros (int): Micro-dollars.
            at (datetime.datetime): When.
            entry (str): `reserve` (an estimate held before a call), `settle` (the real cost) or `release` (an
                estimate given back).
            id (UUID): Its id.
            model (str): The model.
            provider (str): The provider.
            reservation_id (UUID): The reservation the row belongs to.
            completion_tokens (int | Unset): Completion tokens (settle only).
            job_id (UUID | Unset): The job that made the call.
            note (str | Unset): Why (a release's reason).
            prompt_tokens (int | Unset): Prompt tokens (settle only).
     """

    amount_micros: int
    at: datetime.datetime
    entry: str
    id: UUID
    model: str
    provider: str
    reservation_id: UUID
    completion_tokens: int | Unset = UNSET
    job_id: UUID | Unset = UNSET
    note: str | Unset = UNSET
    prompt_tokens: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        amount_micros = self.amount_micros

        at = self.at.isoformat()

        entry = self.entry

        id = str(self.id)

        model = self.model

        provider = self.provider

        reservation_id = str(self.reservation_id)

        completion_tokens = self.completion_tokens

        job_id: str | Unset = UNSET
        if not isinstance(self.job_id, Unset):
            job_id = str(self.job_id)

        note = self.note

        prompt_tokens = self.prompt_tokens


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount_micros": amount_micros,
            "at": at,
            "entry": entry,
            "id": id,
            "model": model,
            "provider": provider,
            "reservation_id": reservation_id,
        })
        if completion_tokens is not UNSET:
            field_dict["completion_tokens"] = completion_tokens
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if note is not UNSET:
            field_dict["note"] = note
        if prompt_tokens is not UNSET:
            field_dict["prompt_tokens"] = prompt_tokens

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount_micros = d.pop("amount_micros")

        at = datetime.datetime.fromisoformat(d.pop("at"))




        entry = d.pop("entry")

        id = UUID(d.pop("id"))




        model = d.pop("model")

        provider = d.pop("provider")

        reservation_id = UUID(d.pop("reservation_id"))




        completion_tokens = d.pop("completion_tokens", UNSET)

        _job_id = d.pop("job_id", UNSET)
        job_id: UUID | Unset
        if isinstance(_job_id,  Unset):
            job_id = UNSET
        else:
            job_id = UUID(_job_id)




        note = d.pop("note", UNSET)

        prompt_tokens = d.pop("prompt_tokens", UNSET)

        cost_entry = cls(
            amount_micros=amount_micros,
            at=at,
            entry=entry,
            id=id,
            model=model,
            provider=provider,
            reservation_id=reservation_id,
            completion_tokens=completion_tokens,
            job_id=job_id,
            note=note,
            prompt_tokens=prompt_tokens,
        )


        cost_entry.additional_properties = d
        return cost_entry

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
