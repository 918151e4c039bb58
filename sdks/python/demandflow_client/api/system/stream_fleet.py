from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    interval_ms: int | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["interval_ms"] = interval_ms


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/stream",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | str | None:
    if response.status_code == 200:
        response_200 = response.text
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

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    interval_ms: int | Unset = UNSET,

) -> Response[Problem | str]:
    """ Watch queues and workers live

     Server-sent events: a `FleetSnapshot` right away, then one every `interval_ms` (250 to
    60000, default 1000) until the client goes away or the stream reaches its longest life
    (`STREAM_MAX_LIFETIME_SECS`, default an hour; reconnect then). A key and its tenant may
    hold a limited number of streams open (429 with `Retry-After` beyond). Needs the viewer
    role.

    Args:
        interval_ms (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | str]
     """


    kwargs = _get_kwargs(
        interval_ms=interval_ms,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    interval_ms: int | Unset = UNSET,

) -> Problem | str | None:
    """ Watch queues and workers live

     Server-sent events: a `FleetSnapshot` right away, then one every `interval_ms` (250 to
    60000, default 1000) until the client goes away or the stream reaches its longest life
    (`STREAM_MAX_LIFETIME_SECS`, default an hour; reconnect then). A key and its tenant may
    hold a limited number of streams open (429 with `Retry-After` beyond). Needs the viewer
    role.

    Args:
        interval_ms (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | str
     """


    return sync_detailed(
        client=client,
interval_ms=interval_ms,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    interval_ms: int | Unset = UNSET,

) -> Response[Problem | str]:
    """ Watch queues and workers live

     Server-sent events: a `FleetSnapshot` right away, then one every `interval_ms` (250 to
    60000, default 1000) until the client goes away or the stream reaches its longest life
    (`STREAM_MAX_LIFETIME_SECS`, default an hour; reconnect then). A key and its tenant may
    hold a limited number of streams open (429 with `Retry-After` beyond). Needs the viewer
    role.

    Args:
        interval_ms (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | str]
     """


    kwargs = _get_kwargs(
        interval_ms=interval_ms,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    interval_ms: int | Unset = UNSET,

) -> Problem | str | None:
    """ Watch queues and workers live

     Server-sent events: a `FleetSnapshot` right away, then one every `interval_ms` (250 to
    60000, default 1000) until the client goes away or the stream reaches its longest life
    (`STREAM_MAX_LIFETIME_SECS`, default an hour; reconnect then). A key and its tenant may
    hold a limited number of streams open (429 with `Retry-After` beyond). Needs the viewer
    role.

    Args:
        interval_ms (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | str
     """


    return (await asyncio_detailed(
        client=client,
interval_ms=interval_ms,

    )).parsed
