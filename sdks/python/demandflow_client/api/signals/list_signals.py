from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.list_signals_state import ListSignalsState
from ...models.problem import Problem
from ...models.signal_page import SignalPage
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    source_id: UUID | Unset = UNSET,
    state: ListSignalsState | Unset = UNSET,
    language: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_source_id: str | Unset = UNSET
    if not isinstance(source_id, Unset):
        json_source_id = str(source_id)
    params["source_id"] = json_source_id

    json_state: str | Unset = UNSET
    if not isinstance(state, Unset):
        json_state = state.value

    params["state"] = json_state

    params["language"] = language

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    params["q"] = q

    params["limit"] = limit

    params["cursor"] = cursor


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/signals",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | SignalPage | None:
    if response.status_code == 200:
        response_200 = SignalPage.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | SignalPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    source_id: UUID | Unset = UNSET,
    state: ListSignalsState | Unset = UNSET,
    language: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Response[Problem | SignalPage]:
    """ List signals

     Newest first, a page at a time. `q` searches titles and text (Postgres full-text
    search, web-search syntax: words, `"a phrase"`, `-excluded`, `or`).

    Args:
        source_id (UUID | Unset):
        state (ListSignalsState | Unset):
        language (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        q (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SignalPage]
     """


    kwargs = _get_kwargs(
        source_id=source_id,
state=state,
language=language,
since=since,
until=until,
q=q,
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
    source_id: UUID | Unset = UNSET,
    state: ListSignalsState | Unset = UNSET,
    language: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Problem | SignalPage | None:
    """ List signals

     Newest first, a page at a time. `q` searches titles and text (Postgres full-text
    search, web-search syntax: words, `"a phrase"`, `-excluded`, `or`).

    Args:
        source_id (UUID | Unset):
        state (ListSignalsState | Unset):
        language (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        q (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SignalPage
     """


    return sync_detailed(
        client=client,
source_id=source_id,
state=state,
language=language,
since=since,
until=until,
q=q,
limit=limit,
cursor=cursor,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    source_id: UUID | Unset = UNSET,
    state: ListSignalsState | Unset = UNSET,
    language: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Response[Problem | SignalPage]:
    """ List signals

     Newest first, a page at a time. `q` searches titles and text (Postgres full-text
    search, web-search syntax: words, `"a phrase"`, `-excluded`, `or`).

    Args:
        source_id (UUID | Unset):
        state (ListSignalsState | Unset):
        language (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        q (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SignalPage]
     """


    kwargs = _get_kwargs(
        source_id=source_id,
state=state,
language=language,
since=since,
until=until,
q=q,
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
    source_id: UUID | Unset = UNSET,
    state: ListSignalsState | Unset = UNSET,
    language: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Problem | SignalPage | None:
    """ List signals

     Newest first, a page at a time. `q` searches titles and text (Postgres full-text
    search, web-search syntax: words, `"a phrase"`, `-excluded`, `or`).

    Args:
        source_id (UUID | Unset):
        state (ListSignalsState | Unset):
        language (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        q (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SignalPage
     """


    return (await asyncio_detailed(
        client=client,
source_id=source_id,
state=state,
language=language,
since=since,
until=until,
q=q,
limit=limit,
cursor=cursor,

    )).parsed
