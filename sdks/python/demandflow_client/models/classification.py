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






T = TypeVar("T", bound="Classification")



@_attrs_define
class Classification:
    """ A verdict of `classify_signal`.

        Attributes:
            confidence (float): 0 to 1.
            cost_micros (int): What they cost, in micro-dollars.
            created_at (datetime.datetime): When.
            id (UUID): Its id.
            keyword_score (int): The keyword score, 0 to 100.
            llm (str): `not_needed`, `not_configured`, `memo` (free) or `paid`.
            llm_calls (int): Paid LLM calls made.
            low_confidence (bool): The keyword verdict was kept because no valid LLM answer could be had.
            method (str): `keyword` or `llm`.
            reasons (list[str]): Why: the terms that matched, or the LLM's reasons.
            relevant (bool): Worth acting on.
            ruleset_id (UUID): The ruleset.
            ruleset_version (int): The ruleset version it was made under.
            score (int): 0 to 100: the keyword score, or for an LLM verdict 100 × its probability of relevance.
            signal_id (UUID): The signal.
            category (str | Unset): One of the ruleset's categories.
            job_id (UUID | Unset): The job that classified.
            model (str | Unset): The LLM's model, when one was asked.
     """

    confidence: float
    cost_micros: int
    created_at: datetime.datetime
    id: UUID
    keyword_score: int
    llm: str
    llm_calls: int
    low_confidence: bool
    method: str
    reasons: list[str]
    relevant: bool
    ruleset_id: UUID
    ruleset_version: int
    score: int
    signal_id: UUID
    category: str | Unset = UNSET
    job_id: UUID | Unset = UNSET
    model: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        confidence = self.confidence

        cost_micros = self.cost_micros

        created_at = self.created_at.isoformat()

        id = str(self.id)

        keyword_score = self.keyword_score

        llm = self.llm

        llm_calls = self.llm_calls

        low_confidence = self.low_confidence

        method = self.method

        reasons = self.reasons



        relevant = self.relevant

        ruleset_id = str(self.ruleset_id)

        ruleset_version = self.ruleset_version

        score = self.score

        signal_id = str(self.signal_id)

        category = self.category

        job_id: str | Unset = UNSET
        if not isinstance(self.job_id, Unset):
            job_id = str(self.job_id)

        model = self.model


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "confidence": confidence,
            "cost_micros": cost_micros,
            "created_at": created_at,
            "id": id,
            "keyword_score": keyword_score,
            "llm": llm,
            "llm_calls": llm_calls,
            "low_confidence": low_confidence,
            "method": method,
            "reasons": reasons,
            "relevant": relevant,
            "ruleset_id": ruleset_id,
            "ruleset_version": ruleset_version,
            "score": score,
            "signal_id": signal_id,
        })
        if category is not UNSET:
            field_dict["category"] = category
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if model is not UNSET:
            field_dict["model"] = model

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        confidence = d.pop("confidence")

        cost_micros = d.pop("cost_micros")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        keyword_score = d.pop("keyword_score")

        llm = d.pop("llm")

        llm_calls = d.pop("llm_calls")

        low_confidence = d.pop("low_confidence")

        method = d.pop("method")

        reasons = cast(list[str], d.pop("reasons"))


        relevant = d.pop("relevant")

        ruleset_id = UUID(d.pop("ruleset_id"))




        ruleset_version = d.pop("ruleset_version")

        score = d.pop("score")

        signal_id = UUID(d.pop("signal_id"))




        category = d.pop("category", UNSET)

        _job_id = d.pop("job_id", UNSET)
        job_id: UUID | Unset
        if isinstance(_job_id,  Unset):
            job_id = UNSET
        else:
            job_id = UUID(_job_id)




        model = d.pop("model", UNSET)

        classification = cls(
            confidence=confidence,
            cost_micros=cost_micros,
            created_at=created_at,
            id=id,
            keyword_score=keyword_score,
            llm=llm,
            llm_calls=llm_calls,
            low_confidence=low_confidence,
            method=method,
            reasons=reasons,
            relevant=relevant,
            ruleset_id=ruleset_id,
            ruleset_version=ruleset_version,
            score=score,
            signal_id=signal_id,
            category=category,
            job_id=job_id,
            model=model,
        )


        classification.additional_properties = d
        return classification

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
