from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.new_job_publish_post_job_kind import NewJobPublishPostJobKind
from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.concurrency import Concurrency
  from ..models.debounce import Debounce
  from ..models.publish_post_args import PublishPostArgs





T = TypeVar("T", bound="NewJobPublishPostJob")



@_attrs_define
class NewJobPublishPostJob:
    """ A job to enqueue. `kind` selects the job kind and the schema of its `args`; the other fields
    are the same for every kind.

        Attributes:
            args (PublishPostArgs): Args of a `publish_post` job: `post_id` alone, or a workflow step's `account_id`,
                `template` and `data` (one post per job; the post's own job publishes it).
            kind (NewJobPublishPostJobKind):  Example: publish_post.
            concurrency (Concurrency | Unset): A concurrency key and its limit.
            debounce (Debounce | Unset): A debounce window.
            idempotency_key (str | Unset): The same key again (same tenant) returns the first job (200) instead of
                enqueueing a
                second one. 1 to 200 printable characters.
            max_attempts (int | Unset): Attempts allowed, 1 to 100 (default: the kind's).
            priority (int | Unset): Higher runs first among this tenant's jobs of the kind (tenants share the workers by
                their weights, whatever the priorities); -100 to 100 (default 0), and no higher than the
                server's ceiling (`JOB_PRIORITY_MAX`; above it, a 422). A waiting job gains one level a
                minute, so a low priority delays a job but never starves it.
            run_at (datetime.datetime | Unset): Run no earlier than this instant (default: now).
            singleton_key (str | Unset): While a job of this tenant with this key is queued, running or waiting for a retry,
                enqueueing returns that job (200) and inserts nothing; race-free under concurrent calls.
                1 to 200 printable characters. At most one of `idempotency_key`, `singleton_key` and
                `debounce`.
            timeout_ms (int | Unset): Timeout of one attempt in milliseconds, 1 to 3600000 (default: the kind's).
     """

    args: PublishPostArgs
    kind: NewJobPublishPostJobKind
    concurrency: Concurrency | Unset = UNSET
    debounce: Debounce | Unset = UNSET
    idempotency_key: str | Unset = UNSET
    max_attempts: int | Unset = UNSET
    priority: int | Unset = UNSET
    run_at: datetime.datetime | Unset = UNSET
    singleton_key: str | Unset = UNSET
    timeout_ms: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.concurrency import Concurrency # noqa: PLC0415
        from ..models.debounce import Debounce # noqa: PLC0415
        from ..models.publish_post_args import PublishPostArgs # noqa: PLC0415
        args = self.args.to_dict()

        kind = self.kind.value

        concurrency: dict[str, Any] | Unset = UNSET
        if not isinstance(self.concurrency, Unset):
            concurrency = self.concurrency.to_dict()

        debounce: dict[str, Any] | Unset = UNSET
        if not isinstance(self.debounce, Unset):
            debounce = self.debounce.to_dict()

        idempotency_key = self.idempotency_key

        max_attempts = self.max_attempts

        priority = self.priority

        run_at: str | Unset = UNSET
        if not isinstance(self.run_at, Unset):
            run_at = self.run_at.isoformat()

        singleton_key = self.singleton_key

        timeout_ms = self.timeout_ms


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "args": args,
            "kind": kind,
        })
        if concurrency is not UNSET:
            field_dict["concurrency"] = concurrency
        if debounce is not UNSET:
            field_dict["debounce"] = debounce
        if idempotency_key is not UNSET:
            field_dict["idempotency_key"] = idempotency_key
        if max_attempts is not UNSET:
            field_dict["max_attempts"] = max_attempts
        if priority is not UNSET:
            field_dict["priority"] = priority
        if run_at is not UNSET:
            field_dict["run_at"] = run_at
        if singleton_key is not UNSET:
            field_dict["singleton_key"] = singleton_key
        if timeout_ms is not UNSET:
            field_dict["timeout_ms"] = timeout_ms

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.concurrency import Concurrency # noqa: PLC0415
        from ..models.debounce import Debounce # noqa: PLC0415
        from ..models.publish_post_args import PublishPostArgs # noqa: PLC0415
        d = dict(src_dict)
        args = PublishPostArgs.from_dict(d.pop("args"))




        kind = NewJobPublishPostJobKind(d.pop("kind"))




        _concurrency = d.pop("concurrency", UNSET)
        concurrency: Concurrency | Unset
        if isinstance(_concurrency,  Unset):
            concurrency = UNSET
        else:
            concurrency = Concurrency.from_dict(_concurrency)




        _debounce = d.pop("debounce", UNSET)
        debounce: Debounce | Unset
        if isinstance(_debounce,  Unset):
            debounce = UNSET
        else:
            debounce = Debounce.from_dict(_debounce)




        idempotency_key = d.pop("idempotency_key", UNSET)

        max_attempts = d.pop("max_attempts", UNSET)

        priority = d.pop("priority", UNSET)

        _run_at = d.pop("run_at", UNSET)
        run_at: datetime.datetime | Unset
        if isinstance(_run_at,  Unset):
            run_at = UNSET
        else:
            run_at = datetime.datetime.fromisoformat(_run_at)




        singleton_key = d.pop("singleton_key", UNSET)

        timeout_ms = d.pop("timeout_ms", UNSET)

        new_job_publish_post_job = cls(
            args=args,
            kind=kind,
            concurrency=concurrency,
            debounce=debounce,
            idempotency_key=idempotency_key,
            max_attempts=max_attempts,
            priority=priority,
            run_at=run_at,
            singleton_key=singleton_key,
            timeout_ms=timeout_ms,
        )


        new_job_publish_post_job.additional_properties = d
        return new_job_publish_post_job

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
