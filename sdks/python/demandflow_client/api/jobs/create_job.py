from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.job import Job
from ...models.new_job_classify_signal_job import NewJobClassifySignalJob
from ...models.new_job_deliver_job import NewJobDeliverJob
from ...models.new_job_export_lead_job import NewJobExportLeadJob
from ...models.new_job_fetch_source_job import NewJobFetchSourceJob
from ...models.new_job_http_request_job import NewJobHttpRequestJob
from ...models.new_job_noop_job import NewJobNoopJob
from ...models.new_job_publish_post_job import NewJobPublishPostJob
from ...models.new_job_score_lead_job import NewJobScoreLeadJob
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    *,
    body: NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob | NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob | NewJobScoreLeadJob,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/jobs",
    }

    
    if isinstance(body, NewJobNoopJob):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, NewJobHttpRequestJob):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, NewJobFetchSourceJob):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, NewJobScoreLeadJob):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, NewJobClassifySignalJob):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, NewJobDeliverJob):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, NewJobPublishPostJob):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()


    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Job | Problem | None:
    if response.status_code == 200:
        response_200 = Job.from_dict(response.json())



        return response_200

    if response.status_code == 201:
        response_201 = Job.from_dict(response.json())



        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())



        return response_429

    if response.status_code == 500:
        response_500 = Problem.from_dict(response.json())



        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Job | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob | NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob | NewJobScoreLeadJob,

) -> Response[Job | Problem]:
    """ Enqueue a job

     Validates the job against its kind and enqueues it. The request's `X-Request-Id` becomes
    the job's `correlation_id`. With an `idempotency_key` this tenant used before, nothing is
    enqueued and the existing job is returned with 200; likewise with a `singleton_key` whose
    job is still queued or running, and with a `debounce` key whose job has not started (it
    now has these args and starts at the end of the new window). Needs the operator role.

    Args:
        body (NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob |
            NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob |
            NewJobScoreLeadJob): A job to enqueue. `kind` selects the job kind and the schema of its
            `args`; the other fields
            are the same for every kind.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob | NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob | NewJobScoreLeadJob,

) -> Job | Problem | None:
    """ Enqueue a job

     Validates the job against its kind and enqueues it. The request's `X-Request-Id` becomes
    the job's `correlation_id`. With an `idempotency_key` this tenant used before, nothing is
    enqueued and the existing job is returned with 200; likewise with a `singleton_key` whose
    job is still queued or running, and with a `debounce` key whose job has not started (it
    now has these args and starts at the end of the new window). Needs the operator role.

    Args:
        body (NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob |
            NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob |
            NewJobScoreLeadJob): A job to enqueue. `kind` selects the job kind and the schema of its
            `args`; the other fields
            are the same for every kind.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob | NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob | NewJobScoreLeadJob,

) -> Response[Job | Problem]:
    """ Enqueue a job

     Validates the job against its kind and enqueues it. The request's `X-Request-Id` becomes
    the job's `correlation_id`. With an `idempotency_key` this tenant used before, nothing is
    enqueued and the existing job is returned with 200; likewise with a `singleton_key` whose
    job is still queued or running, and with a `debounce` key whose job has not started (it
    now has these args and starts at the end of the new window). Needs the operator role.

    Args:
        body (NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob |
            NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob |
            NewJobScoreLeadJob): A job to enqueue. `kind` selects the job kind and the schema of its
            `args`; the other fields
            are the same for every kind.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob | NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob | NewJobScoreLeadJob,

) -> Job | Problem | None:
    """ Enqueue a job

     Validates the job against its kind and enqueues it. The request's `X-Request-Id` becomes
    the job's `correlation_id`. With an `idempotency_key` this tenant used before, nothing is
    enqueued and the existing job is returned with 200; likewise with a `singleton_key` whose
    job is still queued or running, and with a `debounce` key whose job has not started (it
    now has these args and starts at the end of the new window). Needs the operator role.

    Args:
        body (NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob |
            NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob |
            NewJobScoreLeadJob): A job to enqueue. `kind` selects the job kind and the schema of its
            `args`; the other fields
            are the same for every kind.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
