"""Smoke test of the Python SDK against a live api and worker (run by the end-to-end suite).

Reads DF_BASE (``http://127.0.0.1:PORT``) and DF_KEY (an admin key); prints ``ok <check>`` per
check and exits non-zero at the first failure.
"""

import asyncio
import os
import sys

from demandflow_client.api.jobs import create_job, list_jobs
from demandflow_client.api.workflows import create_workflow, start_run
from demandflow_client.models import NewJobNoopJob, NewRun, NewWorkflow
from demandflow_client.types import Unset
from demandflow_sdk import ProblemError, arun_events, connect, run_events, unwrap, wait_for_job


def check(ok: bool, what: str) -> None:
    if not ok:
        print(f"FAIL {what}", flush=True)
        sys.exit(1)
    print(f"ok {what}", flush=True)


def noop(marker: str) -> NewJobNoopJob:
    return NewJobNoopJob.from_dict({"kind": "noop", "args": {"output": {"marker": marker}}})


def main() -> None:
    client = connect(os.environ["DF_BASE"], os.environ["DF_KEY"])

    job = unwrap(create_job.sync_detailed(client=client, body=noop("one")))
    done = wait_for_job(client, job.id, timeout=30)
    check(str(done.state) == "succeeded", "a job enqueued and waited for")

    ids = {unwrap(create_job.sync_detailed(client=client, body=noop(f"p{i}"))).id for i in range(5)}
    seen, cursor, pages = set(), None, 0
    while True:
        kwargs = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        page = unwrap(list_jobs.sync_detailed(client=client, **kwargs))
        pages += 1
        seen |= {j.id for j in page.items}
        cursor = None if isinstance(page.next_cursor, Unset) else str(page.next_cursor)
        if not cursor:
            break
    check(ids <= seen and pages >= 3, f"paged through jobs two at a time ({pages} pages)")

    workflow = unwrap(
        create_workflow.sync_detailed(
            client=client,
            body=NewWorkflow.from_dict(
                {
                    "name": "sdk-smoke",
                    "definition": {"steps": [{"name": "a", "kind": "noop"}, {"name": "b", "kind": "noop"}]},
                }
            ),
        )
    )
    run = unwrap(start_run.sync_detailed(workflow.id, client=client, body=NewRun.from_dict({"input": {}})))
    types = [e.type_ for e in run_events(client, run.id)]
    finished = types[-1:] == ["run_finished"]
    check(finished and types.count("step_succeeded") == 2, f"followed the run's events to the end ({len(types)})")

    async def again() -> list[str]:
        return [e.type_ async for e in arun_events(client, run.id)]

    check(asyncio.run(again()) == types, "the same events again, asynchronously")

    try:
        unwrap(
            create_job.sync_detailed(
                client=client, body=NewJobNoopJob.from_dict({"kind": "noop", "args": {"sleep_ms": -1}})
            )
        )
        check(False, "a bad request is a problem")
    except ProblemError as e:
        check(e.status == 422 and any("sleep_ms" in f for f in e.fields), f"a typed problem: {e}")


if __name__ == "__main__":
    main()
