from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.signal import Signal
from ...models.signal_transition import SignalTransition
from typing import cast
from uuid import UUID



def _get_kwargs(
    id: UUID,
    *,
    body: SignalTransition,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/signals/{id}/state".format(id=quote(str(id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Signal | None:
    if response.status_code == 200:
        response_200 = Signal.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | Signal]:
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
    body: SignalTransition,

) -> Response[Problem | Signal]:
    """ Move a signal to another state

     `new → classified → scored → alerted` (`classified → alerted` too), or to `discarded` /
    `expired` from any of the first three; anything else answers 409. Needs the operator role.

    Args:
        id (UUID):
        body (SignalTransition): A move of a signal to another state.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Signal]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: SignalTransition,

) -> Problem | Signal | None:
    """ Move a signal to another state

     `new → classified → scored → alerted` (`classified → alerted` too), or to `discarded` /
    `expired` from any of the first three; anything else answers 409. Needs the operator role.

    Args:
        id (UUID):
        body (SignalTransition): A move of a signal to another state.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Signal
     """


    return sync_detailed(
        id=id,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: SignalTransition,

) -> Response[Problem | Signal]:
    """ Move a signal to another state

     `new → classified → scored → alerted` (`classified → alerted` too), or to `discarded` /
    `expired` from any of the first three; anything else answers 409. Needs the operator role.

    Args:
        id (UUID):
        body (SignalTransition): A move of a signal to another state.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Signal]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: SignalTransition,

) -> Problem | Signal | None:
    """ Move a signal to another state

     `new → classified → scored → alerted` (`classified → alerted` too), or to `discarded` /
    `expired` from any of the first three; anything else answers 409. Needs the operator role.

    Args:
        id (UUID):
        body (SignalTransition): A move of a signal to another state.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Signal
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,

    )).parsed
