from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.economics_watch import EconomicsWatch
from ...models.economics_watch_spec import EconomicsWatchSpec
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    *,
    body: EconomicsWatchSpec,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/economics/watch",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> EconomicsWatch | Problem | None:
    if response.status_code == 200:
        response_200 = EconomicsWatch.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[EconomicsWatch | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: EconomicsWatchSpec,

) -> Response[EconomicsWatch | Problem]:
    """ Set the economics watch

     Every few minutes a worker judges each source over the last `window_days` UTC days: a
    cost per confirmed lead above `max_cost_per_confirmed_lead_micros`, or a negative ROI
    when `negative_roi` is set, is a breach, and a breach that begins emits one
    `source.economics` event (for alert rules and subscriptions); it alerts again only after
    it ended. Setting the watch has it judged at once. Needs the admin role.

    Args:
        body (EconomicsWatchSpec): The thresholds a tenant's sources are judged against.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EconomicsWatch | Problem]
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
    body: EconomicsWatchSpec,

) -> EconomicsWatch | Problem | None:
    """ Set the economics watch

     Every few minutes a worker judges each source over the last `window_days` UTC days: a
    cost per confirmed lead above `max_cost_per_confirmed_lead_micros`, or a negative ROI
    when `negative_roi` is set, is a breach, and a breach that begins emits one
    `source.economics` event (for alert rules and subscriptions); it alerts again only after
    it ended. Setting the watch has it judged at once. Needs the admin role.

    Args:
        body (EconomicsWatchSpec): The thresholds a tenant's sources are judged against.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EconomicsWatch | Problem
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: EconomicsWatchSpec,

) -> Response[EconomicsWatch | Problem]:
    """ Set the economics watch

     Every few minutes a worker judges each source over the last `window_days` UTC days: a
    cost per confirmed lead above `max_cost_per_confirmed_lead_micros`, or a negative ROI
    when `negative_roi` is set, is a breach, and a breach that begins emits one
    `source.economics` event (for alert rules and subscriptions); it alerts again only after
    it ended. Setting the watch has it judged at once. Needs the admin role.

    Args:
        body (EconomicsWatchSpec): The thresholds a tenant's sources are judged against.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EconomicsWatch | Problem]
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
    body: EconomicsWatchSpec,

) -> EconomicsWatch | Problem | None:
    """ Set the economics watch

     Every few minutes a worker judges each source over the last `window_days` UTC days: a
    cost per confirmed lead above `max_cost_per_confirmed_lead_micros`, or a negative ROI
    when `negative_roi` is set, is a breach, and a breach that begins emits one
    `source.economics` event (for alert rules and subscriptions); it alerts again only after
    it ended. Setting the watch has it judged at once. Needs the admin role.

    Args:
        body (EconomicsWatchSpec): The thresholds a tenant's sources are judged against.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EconomicsWatch | Problem
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
