"""Hand-written helpers over the generated ``demandflow_client`` (which is never edited).

- :func:`connect` builds an authenticated client for ``<base>/api/v1`` with the API key in
  ``X-API-Key``.
- :func:`unwrap` returns an operation's typed answer, or raises :class:`ProblemError` carrying
  the problem+json document (status, title, detail, per-field errors).
- :func:`wait_for_job` polls a job until it reaches a final state.
- :func:`run_events` / :func:`arun_events` follow a workflow run's server-sent events to the
  end (the generated operation would buffer the whole stream).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

import httpx

from demandflow_client import AuthenticatedClient
from demandflow_client.api.jobs import get_job
from demandflow_client.models import Job, Problem, RunEvent
from demandflow_client.types import Response

__all__ = [
    "FINAL_JOB_STATES",
    "ProblemError",
    "arun_events",
    "connect",
    "run_events",
    "unwrap",
    "wait_for_job",
]


#: Job states a job does not leave by itself.
FINAL_JOB_STATES = frozenset({"succeeded", "dead", "cancelled"})


class ProblemError(Exception):
    """An answer that is not a success: the API's problem+json document."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail}")
        self.problem = problem
        self.status = problem.status

    @property
    def fields(self) -> list[str]:
        """The paths of the fields at fault (validation errors), else empty."""
        errors = self.problem.errors if isinstance(self.problem.errors, list) else []
        return [e.path for e in errors]


def connect(base_url: str, api_key: str, *, timeout: float = 30.0) -> AuthenticatedClient:
    """A client of the api at ``base_url`` (``http://host:8080``) using ``api_key``."""
    return AuthenticatedClient(
        base_url=base_url.rstrip("/") + "/api/v1",
        token=api_key,
        prefix="",
        auth_header_name="X-API-Key",
        raise_on_unexpected_status=True,
        timeout=httpx.Timeout(timeout),
    )


def unwrap(response: Response[Any]) -> Any:
    """The typed answer of a ``*_detailed`` call, or :class:`ProblemError`."""
    parsed = response.parsed
    if isinstance(parsed, Problem):
        raise ProblemError(parsed)
    if int(response.status_code) >= 400:
        raise ProblemError(
            Problem(
                detail=response.content.decode("utf-8", "replace")[:500],
                status=int(response.status_code),
                title="unexpected answer",
                type_="about:blank",
            )
        )
    return parsed


def wait_for_job(
    client: AuthenticatedClient,
    job_id: UUID | str,
    *,
    timeout: float = 60.0,
    interval: float = 0.1,
) -> Job:
    """Polls the job until its state is final (see :data:`FINAL_JOB_STATES`); the job.

    Raises :class:`TimeoutError` when it is not final after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    job_id = UUID(str(job_id))
    while True:
        job = unwrap(get_job.sync_detailed(job_id, client=client))
        if str(job.state) in FINAL_JOB_STATES:
            return job
        if time.monotonic() >= deadline:
            raise TimeoutError(f"job {job_id} still {job.state} after {timeout} s")
        time.sleep(interval)


class _Events:
    """Server-sent events read line by line: :meth:`feed` returns the event a blank line ends."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> RunEvent | None:
        if line.startswith("data:"):
            self._data.append(line[5:].lstrip(" "))
        elif line == "" and self._data:
            event = RunEvent.from_dict(json.loads("\n".join(self._data)))
            self._data = []
            return event
        return None


def run_events(
    client: AuthenticatedClient, run_id: UUID | str, *, after: int | None = None
) -> Iterator[RunEvent]:
    """The run's events, oldest first, as they happen; ends when the run has finished.

    ``after``: an event id already seen (resumes after it, as ``Last-Event-ID``).
    """
    headers = {"Accept": "text/event-stream"}
    if after is not None:
        headers["Last-Event-ID"] = str(after)
    http = client.get_httpx_client()
    with http.stream("GET", f"/runs/{run_id}/events", headers=headers, timeout=None) as res:
        if res.status_code == 204:
            return
        if res.status_code >= 400:
            res.read()
            raise ProblemError(Problem.from_dict(res.json()))
        events = _Events()
        for line in itertools.chain(res.iter_lines(), [""]):
            if (event := events.feed(line)) is not None:
                yield event


async def arun_events(
    client: AuthenticatedClient, run_id: UUID | str, *, after: int | None = None
) -> AsyncIterator[RunEvent]:
    """:func:`run_events` for asyncio."""
    headers = {"Accept": "text/event-stream"}
    if after is not None:
        headers["Last-Event-ID"] = str(after)
    http = client.get_async_httpx_client()
    async with http.stream(
        "GET", f"/runs/{run_id}/events", headers=headers, timeout=None
    ) as res:
        if res.status_code == 204:
            return
        if res.status_code >= 400:
            await res.aread()
            raise ProblemError(Problem.from_dict(res.json()))
        events = _Events()
        async for line in res.aiter_lines():
            if (event := events.feed(line)) is not None:
                yield event
        if (event := events.feed("")) is not None:
            yield event
