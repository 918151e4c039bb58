from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.cost_page import CostPage
from ...models.list_costs_entry import ListCostsEntry
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    *,
    provider: str | Unset = UNSET,
    model: str | Unset = UNSET,
    entry: ListCostsEntry | Unset = UNSET,
    job_id: UUID | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["provider"] = provider

    params["model"] = model

    json_entry: str | Unset = UNSET
    if not isinstance(entry, Unset):
        json_entry = entry.value

    params["entry"] = json_entry

    json_job_id: str | Unset = UNSET
    if not isinstance(job_id, Unset):
        json_job_id = str(job_id)
    params["job_id"] = json_job_id

    params["since"] = since

    params["until"] = until

    params["cursor"] = cursor

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/costs",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> CostPage | Problem | None:
    if response.status_code == 200:
        response_200 = CostPage.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[CostPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    provider: str | Unset = UNSET,
    model: str | Unset = UNSET,
    entry: ListCostsEntry | Unset = UNSET,
    job_id: UUID | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[CostPage | Problem]:
    """ Read the cost ledger

     Every reservation, settlement and release of paid calls, newest first, with totals
    over everything the filters match.

    Args:
        provider (str | Unset):
        model (str | Unset):
        entry (ListCostsEntry | Unset):
        job_id (UUID | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CostPage | Problem]
     """


    kwargs = _get_kwargs(
        provider=provider,
model=model,
entry=entry,
job_id=job_id,
since=since,
until=until,
cursor=cursor,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    provider: str | Unset = UNSET,
    model: str | Unset = UNSET,
    entry: ListCostsEntry | Unset = UNSET,
    job_id: UUID | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> CostPage | Problem | None:
    """ Read the cost ledger

     Every reservation, settlement and release of paid calls, newest first, with totals
    over everything the filters match.

    Args:
        provider (str | Unset):
        model (str | Unset):
        entry (ListCostsEntry | Unset):
        job_id (UUID | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CostPage | Problem
     """


    return sync_detailed(
        client=client,
provider=provider,
model=model,
entry=entry,
job_id=job_id,
since=since,
until=until,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    provider: str | Unset = UNSET,
    model: str | Unset = UNSET,
    entry: ListCostsEntry | Unset = UNSET,
    job_id: UUID | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[CostPage | Problem]:
    """ Read the cost ledger

     Every reservation, settlement and release of paid calls, newest first, with totals
    over everything the filters match.

    Args:
        provider (str | Unset):
        model (str | Unset):
        entry (ListCostsEntry | Unset):
        job_id (UUID | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CostPage | Problem]
     """


    kwargs = _get_kwargs(
        provider=provider,
model=model,
entry=entry,
job_id=job_id,
since=since,
until=until,
cursor=cursor,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    provider: str | Unset = UNSET,
    model: str | Unset = UNSET,
    entry: ListCostsEntry | Unset = UNSET,
    job_id: UUID | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> CostPage | Problem | None:
    """ Read the cost ledger

     Every reservation, settlement and release of paid calls, newest first, with totals
    over everything the filters match.

    Args:
        provider (str | Unset):
        model (str | Unset):
        entry (ListCostsEntry | Unset):
        job_id (UUID | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CostPage | Problem
     """


    return (await asyncio_detailed(
        client=client,
provider=provider,
model=model,
entry=entry,
job_id=job_id,
since=since,
until=until,
cursor=cursor,
limit=limit,

    )).parsed
