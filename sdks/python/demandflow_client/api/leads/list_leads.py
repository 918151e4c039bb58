from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.lead_page import LeadPage
from ...models.list_leads_status import ListLeadsStatus
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    status: ListLeadsStatus | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    min_score: int | Unset = UNSET,
    max_score: int | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

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

    params["limit"] = limit

    params["cursor"] = cursor


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/leads",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> LeadPage | Problem | None:
    if response.status_code == 200:
        response_200 = LeadPage.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[LeadPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    status: ListLeadsStatus | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    min_score: int | Unset = UNSET,
    max_score: int | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Response[LeadPage | Problem]:
    """ List leads

     The tenant's live leads, newest first, a page at a time.

    Args:
        status (ListLeadsStatus | Unset):
        source_id (UUID | Unset):
        min_score (int | Unset):
        max_score (int | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LeadPage | Problem]
     """


    kwargs = _get_kwargs(
        status=status,
source_id=source_id,
min_score=min_score,
max_score=max_score,
since=since,
until=until,
limit=limit,
cursor=cursor,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    status: ListLeadsStatus | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    min_score: int | Unset = UNSET,
    max_score: int | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> LeadPage | Problem | None:
    """ List leads

     The tenant's live leads, newest first, a page at a time.

    Args:
        status (ListLeadsStatus | Unset):
        source_id (UUID | Unset):
        min_score (int | Unset):
        max_score (int | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LeadPage | Problem
     """


    return sync_detailed(
        client=client,
status=status,
source_id=source_id,
min_score=min_score,
max_score=max_score,
since=since,
until=until,
limit=limit,
cursor=cursor,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    status: ListLeadsStatus | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    min_score: int | Unset = UNSET,
    max_score: int | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Response[LeadPage | Problem]:
    """ List leads

     The tenant's live leads, newest first, a page at a time.

    Args:
        status (ListLeadsStatus | Unset):
        source_id (UUID | Unset):
        min_score (int | Unset):
        max_score (int | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LeadPage | Problem]
     """


    kwargs = _get_kwargs(
        status=status,
source_id=source_id,
min_score=min_score,
max_score=max_score,
since=since,
until=until,
limit=limit,
cursor=cursor,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    status: ListLeadsStatus | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    min_score: int | Unset = UNSET,
    max_score: int | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> LeadPage | Problem | None:
    """ List leads

     The tenant's live leads, newest first, a page at a time.

    Args:
        status (ListLeadsStatus | Unset):
        source_id (UUID | Unset):
        min_score (int | Unset):
        max_score (int | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LeadPage | Problem
     """


    return (await asyncio_detailed(
        client=client,
status=status,
source_id=source_id,
min_score=min_score,
max_score=max_score,
since=since,
until=until,
limit=limit,
cursor=cursor,

    )).parsed
