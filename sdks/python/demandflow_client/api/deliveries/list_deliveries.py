from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.delivery_page import DeliveryPage
from ...models.list_deliveries_state import ListDeliveriesState
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    destination_id: UUID | Unset = UNSET,
    subscription_id: UUID | Unset = UNSET,
    rule_id: UUID | Unset = UNSET,
    state: ListDeliveriesState | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_destination_id: str | Unset = UNSET
    if not isinstance(destination_id, Unset):
        json_destination_id = str(destination_id)
    params["destination_id"] = json_destination_id

    json_subscription_id: str | Unset = UNSET
    if not isinstance(subscription_id, Unset):
        json_subscription_id = str(subscription_id)
    params["subscription_id"] = json_subscription_id

    json_rule_id: str | Unset = UNSET
    if not isinstance(rule_id, Unset):
        json_rule_id = str(rule_id)
    params["rule_id"] = json_rule_id

    json_state: str | Unset = UNSET
    if not isinstance(state, Unset):
        json_state = state.value

    params["state"] = json_state

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    params["cursor"] = cursor

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/deliveries",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> DeliveryPage | Problem | None:
    if response.status_code == 200:
        response_200 = DeliveryPage.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[DeliveryPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    destination_id: UUID | Unset = UNSET,
    subscription_id: UUID | Unset = UNSET,
    rule_id: UUID | Unset = UNSET,
    state: ListDeliveriesState | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[DeliveryPage | Problem]:
    """ List deliveries

     Newest first, filtered by destination, subscription, rule, state and time.

    Args:
        destination_id (UUID | Unset):
        subscription_id (UUID | Unset):
        rule_id (UUID | Unset):
        state (ListDeliveriesState | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeliveryPage | Problem]
     """


    kwargs = _get_kwargs(
        destination_id=destination_id,
subscription_id=subscription_id,
rule_id=rule_id,
state=state,
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
    destination_id: UUID | Unset = UNSET,
    subscription_id: UUID | Unset = UNSET,
    rule_id: UUID | Unset = UNSET,
    state: ListDeliveriesState | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> DeliveryPage | Problem | None:
    """ List deliveries

     Newest first, filtered by destination, subscription, rule, state and time.

    Args:
        destination_id (UUID | Unset):
        subscription_id (UUID | Unset):
        rule_id (UUID | Unset):
        state (ListDeliveriesState | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeliveryPage | Problem
     """


    return sync_detailed(
        client=client,
destination_id=destination_id,
subscription_id=subscription_id,
rule_id=rule_id,
state=state,
since=since,
until=until,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    destination_id: UUID | Unset = UNSET,
    subscription_id: UUID | Unset = UNSET,
    rule_id: UUID | Unset = UNSET,
    state: ListDeliveriesState | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[DeliveryPage | Problem]:
    """ List deliveries

     Newest first, filtered by destination, subscription, rule, state and time.

    Args:
        destination_id (UUID | Unset):
        subscription_id (UUID | Unset):
        rule_id (UUID | Unset):
        state (ListDeliveriesState | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeliveryPage | Problem]
     """


    kwargs = _get_kwargs(
        destination_id=destination_id,
subscription_id=subscription_id,
rule_id=rule_id,
state=state,
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
    destination_id: UUID | Unset = UNSET,
    subscription_id: UUID | Unset = UNSET,
    rule_id: UUID | Unset = UNSET,
    state: ListDeliveriesState | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> DeliveryPage | Problem | None:
    """ List deliveries

     Newest first, filtered by destination, subscription, rule, state and time.

    Args:
        destination_id (UUID | Unset):
        subscription_id (UUID | Unset):
        rule_id (UUID | Unset):
        state (ListDeliveriesState | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeliveryPage | Problem
     """


    return (await asyncio_detailed(
        client=client,
destination_id=destination_id,
subscription_id=subscription_id,
rule_id=rule_id,
state=state,
since=since,
until=until,
cursor=cursor,
limit=limit,

    )).parsed
