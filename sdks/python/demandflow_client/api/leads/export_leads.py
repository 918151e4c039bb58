from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.export_leads_status import ExportLeadsStatus
from ...models.problem import Problem
from ...types import File, FileTypes
from ...types import UNSET, Unset
from io import BytesIO
from typing import cast
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    status: ExportLeadsStatus | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    min_score: int | Unset = UNSET,
    max_score: int | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    json_source_id: str | Unset = UNSET
    if not isinstance(source_id, Unset):
        json_source_id = str(source_id)
    params["source_id"] = json_source_id

    params["min_score"] = min_score

    params["max_score"] = max_score

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/leads/export",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> File | Problem | None:
    if response.status_code == 200:
        response_200 = File(
             payload = BytesIO(response.text)
        )



        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[File | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    status: ExportLeadsStatus | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    min_score: int | Unset = UNSET,
    max_score: int | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,

) -> Response[File | Problem]:
    """ Export leads as CSV

     Every live lead matching the filters, newest first, streamed as CSV with a header row.
    A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
    `'`, so a spreadsheet shows it instead of running it (phone numbers read `'+44…`).

    Args:
        status (ExportLeadsStatus | Unset):
        source_id (UUID | Unset):
        min_score (int | Unset):
        max_score (int | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | Problem]
     """


    kwargs = _get_kwargs(
        status=status,
source_id=source_id,
min_score=min_score,
max_score=max_score,
since=since,
until=until,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    status: ExportLeadsStatus | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    min_score: int | Unset = UNSET,
    max_score: int | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,

) -> File | Problem | None:
    """ Export leads as CSV

     Every live lead matching the filters, newest first, streamed as CSV with a header row.
    A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
    `'`, so a spreadsheet shows it instead of running it (phone numbers read `'+44…`).

    Args:
        status (ExportLeadsStatus | Unset):
        source_id (UUID | Unset):
        min_score (int | Unset):
        max_score (int | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | Problem
     """


    return sync_detailed(
        client=client,
status=status,
source_id=source_id,
min_score=min_score,
max_score=max_score,
since=since,
until=until,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    status: ExportLeadsStatus | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    min_score: int | Unset = UNSET,
    max_score: int | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,

) -> Response[File | Problem]:
    """ Export leads as CSV

     Every live lead matching the filters, newest first, streamed as CSV with a header row.
    A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
    `'`, so a spreadsheet shows it instead of running it (phone numbers read `'+44…`).

    Args:
        status (ExportLeadsStatus | Unset):
        source_id (UUID | Unset):
        min_score (int | Unset):
        max_score (int | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | Problem]
     """


    kwargs = _get_kwargs(
        status=status,
source_id=source_id,
min_score=min_score,
max_score=max_score,
since=since,
until=until,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    status: ExportLeadsStatus | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    min_score: int | Unset = UNSET,
    max_score: int | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,

) -> File | Problem | None:
    """ Export leads as CSV

     Every live lead matching the filters, newest first, streamed as CSV with a header row.
    A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
    `'`, so a spreadsheet shows it instead of running it (phone numbers read `'+44…`).

    Args:
        status (ExportLeadsStatus | Unset):
        source_id (UUID | Unset):
        min_score (int | Unset):
        max_score (int | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | Problem
     """


    return (await asyncio_detailed(
        client=client,
status=status,
source_id=source_id,
min_score=min_score,
max_score=max_score,
since=since,
until=until,

    )).parsed
