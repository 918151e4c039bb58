from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.job_kind import JobKind
from ..models.job_state import JobState
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.attempt_error import AttemptError





T = TypeVar("T", bound="Job")



@_attrs_define
class Job:
    """ A job.

        Attributes:
            args (Any): The args, as stored (defaults filled in).
            attempts (int): Attempts started.
            cancel_requested (bool): Whether a cancel was asked while it ran.
            created_at (datetime.datetime): When it was enqueued.
            errors (list[AttemptError]): Every failed attempt's error, oldest first.
            id (UUID): Its id (UUIDv7: sorts by creation time).
            kind (JobKind): The kind.
            max_attempts (int): Attempts allowed.
            priority (int): Higher runs first.
            run_at (datetime.datetime): When it may run next.
            state (JobState): Where a job is in its life.
            concurrency_key (str | Unset): Its concurrency key (`kind:<kind>` when the operator limits the kind for this
                tenant).
            concurrency_limit (int | Unset): How many jobs with its concurrency key may run at once.
            correlation_id (str | Unset): The `X-Request-Id` of the call that enqueued it.
            debounce_key (str | Unset): Its debounce key: enqueues with it replace this job until it starts.
            finished_at (datetime.datetime | Unset): When it finished.
            idempotency_key (str | Unset): The enqueuer's idempotency key.
            last_error (str | Unset): The latest failed attempt's error.
            lease_expires_at (datetime.datetime | Unset): When the holder's lease ends unless renewed.
            parked_reason (str | Unset): Why it is parked (state `parked` only): which budget, and when it resets.
            result (Any | Unset): The handler's result, once succeeded.
            singleton_key (str | Unset): Its singleton key: no other job with it is queued or running meanwhile.
            started_at (datetime.datetime | Unset): When its latest attempt started.
            timeout_ms (int | Unset): Timeout of one attempt, when set on the job.
            worker (str | Unset): The worker holding it, while it runs.
     """

    args: Any
    attempts: int
    cancel_requested: bool
    created_at: datetime.datetime
    errors: list[AttemptError]
    id: UUID
    kind: JobKind
    max_attempts: int
    priority: int
    run_at: datetime.datetime
    state: JobState
    concurrency_key: str | Unset = UNSET
    concurrency_limit: int | Unset = UNSET
    correlation_id: str | Unset = UNSET
    debounce_key: str | Unset = UNSET
    finished_at: datetime.datetime | Unset = UNSET
    idempotency_key: str | Unset = UNSET
    last_error: str | Unset = UNSET
    lease_expires_at: datetime.datetime | Unset = UNSET
    parked_reason: str | Unset = UNSET
    result: Any | Unset = UNSET
    singleton_key: str | Unset = UNSET
    started_at: datetime.datetime | Unset = UNSET
    timeout_ms: int | Unset = UNSET
    worker: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.attempt_error import AttemptError # noqa: PLC0415
        args = self.args

        attempts = self.attempts

        cancel_requested = self.cancel_requested

        created_at = self.created_at.isoformat()

        errors = []
        for errors_item_data in self.errors:
            errors_item = errors_item_data.to_dict()
            errors.append(errors_item)



        id = str(self.id)

        kind = self.kind.value

        max_attempts = self.max_attempts

        priority = self.priority

        run_at = self.run_at.isoformat()

        state = self.state.value

        concurrency_key = self.concurrency_key

        concurrency_limit = self.concurrency_limit

        correlation_id = self.correlation_id

        debounce_key = self.debounce_key

        finished_at: str | Unset = UNSET
        if not isinstance(self.finished_at, Unset):
            finished_at = self.finished_at.isoformat()

        idempotency_key = self.idempotency_key

        last_error = self.last_error

        lease_expires_at: str | Unset = UNSET
        if not isinstance(self.lease_expires_at, Unset):
            lease_expires_at = self.lease_expires_at.isoformat()

        parked_reason = self.parked_reason

        result = self.result

        singleton_key = self.singleton_key

        started_at: str | Unset = UNSET
        if not isinstance(self.started_at, Unset):
            started_at = self.started_at.isoformat()

        timeout_ms = self.timeout_ms

        worker = self.worker


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "args": args,
            "attempts": attempts,
            "cancel_requested": cancel_requested,
            "created_at": created_at,
            "errors": errors,
            "id": id,
            "kind": kind,
            "max_attempts": max_attempts,
            "priority": priority,
            "run_at": run_at,
            "state": state,
        })
        if concurrency_key is not UNSET:
            field_dict["concurrency_key"] = concurrency_key
        if concurrency_limit is not UNSET:
            field_dict["concurrency_limit"] = concurrency_limit
        if correlation_id is not UNSET:
            field_dict["correlation_id"] = correlation_id
        if debounce_key is not UNSET:
            field_dict["debounce_key"] = debounce_key
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if idempotency_key is not UNSET:
            field_dict["idempotency_key"] = idempotency_key
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if lease_expires_at is not UNSET:
            field_dict["lease_expires_at"] = lease_expires_at
        if parked_reason is not UNSET:
            field_dict["parked_reason"] = parked_reason
        if result is not UNSET:
            field_dict["result"] = result
        if singleton_key is not UNSET:
            field_dict["singleton_key"] = singleton_key
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if timeout_ms is not UNSET:
            field_dict["timeout_ms"] = timeout_ms
        if worker is not UNSET:
            field_dict["worker"] = worker

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.attempt_error import AttemptError # noqa: PLC0415
        d = dict(src_dict)
        args = d.pop("args")

        attempts = d.pop("attempts")

        cancel_requested = d.pop("cancel_requested")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        errors = []
        _errors = d.pop("errors")
        for errors_item_data in (_errors):
            errors_item = AttemptError.from_dict(errors_item_data)



            errors.append(errors_item)


        id = UUID(d.pop("id"))




        kind = JobKind(d.pop("kind"))




        max_attempts = d.pop("max_attempts")

        priority = d.pop("priority")

        run_at = datetime.datetime.fromisoformat(d.pop("run_at"))




        state = JobState(d.pop("state"))




        concurrency_key = d.pop("concurrency_key", UNSET)

        concurrency_limit = d.pop("concurrency_limit", UNSET)

        correlation_id = d.pop("correlation_id", UNSET)

        debounce_key = d.pop("debounce_key", UNSET)

        _finished_at = d.pop("finished_at", UNSET)
        finished_at: datetime.datetime | Unset
        if isinstance(_finished_at,  Unset):
            finished_at = UNSET
        else:
            finished_at = datetime.datetime.fromisoformat(_finished_at)




        idempotency_key = d.pop("idempotency_key", UNSET)

        last_error = d.pop("last_error", UNSET)

        _lease_expires_at = d.pop("lease_expires_at", UNSET)
        lease_expires_at: datetime.datetime | Unset
        if isinstance(_lease_expires_at,  Unset):
            lease_expires_at = UNSET
        else:
            lease_expires_at = datetime.datetime.fromisoformat(_lease_expires_at)




        parked_reason = d.pop("parked_reason", UNSET)

        result = d.pop("result", UNSET)

        singleton_key = d.pop("singleton_key", UNSET)

        _started_at = d.pop("started_at", UNSET)
        started_at: datetime.datetime | Unset
        if isinstance(_started_at,  Unset):
            started_at = UNSET
        else:
            started_at = datetime.datetime.fromisoformat(_started_at)




        timeout_ms = d.pop("timeout_ms", UNSET)

        worker = d.pop("worker", UNSET)

        job = cls(
            args=args,
            attempts=attempts,
            cancel_requested=cancel_requested,
            created_at=created_at,
            errors=errors,
            id=id,
            kind=kind,
            max_attempts=max_attempts,
            priority=priority,
            run_at=run_at,
            state=state,
            concurrency_key=concurrency_key,
            concurrency_limit=concurrency_limit,
            correlation_id=correlation_id,
            debounce_key=debounce_key,
            finished_at=finished_at,
            idempotency_key=idempotency_key,
            last_error=last_error,
            lease_expires_at=lease_expires_at,
            parked_reason=parked_reason,
            result=result,
            singleton_key=singleton_key,
            started_at=started_at,
            timeout_ms=timeout_ms,
            worker=worker,
        )


        job.additional_properties = d
        return job

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
