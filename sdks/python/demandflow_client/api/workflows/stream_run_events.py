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
from uuid import UUID



def _get_kwargs(
    id: UUID,
    *,
    last_event_id: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id



    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/runs/{id}/events".format(id=quote(str(id), safe=""),),
    }


    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Problem | str | None:
    if response.status_code == 200:
        response_200 = response.text
        return response_200

    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | Problem | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,

) -> Response[Any | Problem | str]:
    """ Watch a run's events

     Server-sent events, oldest first: each has the event's id as SSE `id` and its type as SSE
    `event`. With `Last-Event-ID` (sent by `EventSource` when it reconnects), only later
    events come. The stream ends once the run has finished and every event was sent; asked
    again then, it answers 204 (an `EventSource` stops reconnecting). Needs the viewer role.

    Args:
        id (UUID):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem | str]
     """


    kwargs = _get_kwargs(
        id=id,
last_event_id=last_event_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: UUID,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,

) -> Any | Problem | str | None:
    """ Watch a run's events

     Server-sent events, oldest first: each has the event's id as SSE `id` and its type as SSE
    `event`. With `Last-Event-ID` (sent by `EventSource` when it reconnects), only later
    events come. The stream ends once the run has finished and every event was sent; asked
    again then, it answers 204 (an `EventSource` stops reconnecting). Needs the viewer role.

    Args:
        id (UUID):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem | str
     """


    return sync_detailed(
        id=id,
client=client,
last_event_id=last_event_id,

    ).parsed

async def asyncio_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,

) -> Response[Any | Problem | str]:
    """ Watch a run's events

     Server-sent events, oldest first: each has the event's id as SSE `id` and its type as SSE
    `event`. With `Last-Event-ID` (sent by `EventSource` when it reconnects), only later
    events come. The stream ends once the run has finished and every event was sent; asked
    again then, it answers 204 (an `EventSource` stops reconnecting). Needs the viewer role.

    Args:
        id (UUID):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem | str]
     """


    kwargs = _get_kwargs(
        id=id,
last_event_id=last_event_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: UUID,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,

) -> Any | Problem | str | None:
    """ Watch a run's events

     Server-sent events, oldest first: each has the event's id as SSE `id` and its type as SSE
    `event`. With `Last-Event-ID` (sent by `EventSource` when it reconnects), only later
    events come. The stream ends once the run has finished and every event was sent; asked
    again then, it answers 204 (an `EventSource` stops reconnecting). Needs the viewer role.

    Args:
        id (UUID):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem | str
     """


    return (await asyncio_detailed(
        id=id,
client=client,
last_event_id=last_event_id,

    )).parsed
