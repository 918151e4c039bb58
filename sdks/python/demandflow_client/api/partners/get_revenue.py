from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.revenue_report import RevenueReport
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    *,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    partner_id: UUID | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["since"] = since

    params["until"] = until

    json_partner_id: str | Unset = UNSET
    if not isinstance(partner_id, Unset):
        json_partner_id = str(partner_id)
    params["partner_id"] = json_partner_id


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/revenue",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RevenueReport | None:
    if response.status_code == 200:
        response_200 = RevenueReport.from_dict(response.json())



        return response_200

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | RevenueReport]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    partner_id: UUID | Unset = UNSET,

) -> Response[Problem | RevenueReport]:
    """ Revenue per partner and day

     Sales (positive) and returns (negative) in integer cents, per UTC day, partner and
    currency. `since` and `until` are days (`2026-11-30`), both included.

    Args:
        since (str | Unset):
        until (str | Unset):
        partner_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RevenueReport]
     """


    kwargs = _get_kwargs(
        since=since,
until=until,
partner_id=partner_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    partner_id: UUID | Unset = UNSET,

) -> Problem | RevenueReport | None:
    """ Revenue per partner and day

     Sales (positive) and returns (negative) in integer cents, per UTC day, partner and
    currency. `since` and `until` are days (`2026-11-30`), both included.

    Args:
        since (str | Unset):
        until (str | Unset):
        partner_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RevenueReport
     """


    return sync_detailed(
        client=client,
since=since,
until=until,
partner_id=partner_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    partner_id: UUID | Unset = UNSET,

) -> Response[Problem | RevenueReport]:
    """ Revenue per partner and day

     Sales (positive) and returns (negative) in integer cents, per UTC day, partner and
    currency. `since` and `until` are days (`2026-11-30`), both included.

    Args:
        since (str | Unset):
        until (str | Unset):
        partner_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RevenueReport]
     """


    kwargs = _get_kwargs(
        since=since,
until=until,
partner_id=partner_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    partner_id: UUID | Unset = UNSET,

) -> Problem | RevenueReport | None:
    """ Revenue per partner and day

     Sales (positive) and returns (negative) in integer cents, per UTC day, partner and
    currency. `since` and `until` are days (`2026-11-30`), both included.

    Args:
        since (str | Unset):
        until (str | Unset):
        partner_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RevenueReport
     """


    return (await asyncio_detailed(
        client=client,
since=since,
until=until,
partner_id=partner_id,

    )).parsed
