from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.export_signals_format import ExportSignalsFormat
from ...models.export_signals_state import ExportSignalsState
from ...models.problem import Problem
from ...types import File, FileTypes
from ...types import UNSET, Unset
from io import BytesIO
from typing import cast
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    format_: ExportSignalsFormat | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    state: ExportSignalsState | Unset = UNSET,
    language: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    author: str | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_format_: str | Unset = UNSET
    if not isinstance(format_, Unset):
        json_format_ = format_.value

    params["format"] = json_format_

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

    params["author"] = author


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/signals/export",
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
    format_: ExportSignalsFormat | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    state: ExportSignalsState | Unset = UNSET,
    language: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    author: str | Unset = UNSET,

) -> Response[File | Problem]:
    """ Export signals

     Every signal matching the filters, streamed as CSV (`format=csv`, with a header row,
    without the HTML) or NDJSON (`format=ndjson`, the default: one signal a line). With
    `author`, soft-deleted signals are included too: everything held about that person
    (a GDPR export).

    Args:
        format_ (ExportSignalsFormat | Unset):
        source_id (UUID | Unset):
        state (ExportSignalsState | Unset):
        language (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        q (str | Unset):
        author (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | Problem]
     """


    kwargs = _get_kwargs(
        format_=format_,
source_id=source_id,
state=state,
language=language,
since=since,
until=until,
q=q,
author=author,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    format_: ExportSignalsFormat | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    state: ExportSignalsState | Unset = UNSET,
    language: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    author: str | Unset = UNSET,

) -> File | Problem | None:
    """ Export signals

     Every signal matching the filters, streamed as CSV (`format=csv`, with a header row,
    without the HTML) or NDJSON (`format=ndjson`, the default: one signal a line). With
    `author`, soft-deleted signals are included too: everything held about that person
    (a GDPR export).

    Args:
        format_ (ExportSignalsFormat | Unset):
        source_id (UUID | Unset):
        state (ExportSignalsState | Unset):
        language (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        q (str | Unset):
        author (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | Problem
     """


    return sync_detailed(
        client=client,
format_=format_,
source_id=source_id,
state=state,
language=language,
since=since,
until=until,
q=q,
author=author,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    format_: ExportSignalsFormat | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    state: ExportSignalsState | Unset = UNSET,
    language: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    author: str | Unset = UNSET,

) -> Response[File | Problem]:
    """ Export signals

     Every signal matching the filters, streamed as CSV (`format=csv`, with a header row,
    without the HTML) or NDJSON (`format=ndjson`, the default: one signal a line). With
    `author`, soft-deleted signals are included too: everything held about that person
    (a GDPR export).

    Args:
        format_ (ExportSignalsFormat | Unset):
        source_id (UUID | Unset):
        state (ExportSignalsState | Unset):
        language (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        q (str | Unset):
        author (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | Problem]
     """


    kwargs = _get_kwargs(
        format_=format_,
source_id=source_id,
state=state,
language=language,
since=since,
until=until,
q=q,
author=author,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    format_: ExportSignalsFormat | Unset = UNSET,
    source_id: UUID | Unset = UNSET,
    state: ExportSignalsState | Unset = UNSET,
    language: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    author: str | Unset = UNSET,

) -> File | Problem | None:
    """ Export signals

     Every signal matching the filters, streamed as CSV (`format=csv`, with a header row,
    without the HTML) or NDJSON (`format=ndjson`, the default: one signal a line). With
    `author`, soft-deleted signals are included too: everything held about that person
    (a GDPR export).

    Args:
        format_ (ExportSignalsFormat | Unset):
        source_id (UUID | Unset):
        state (ExportSignalsState | Unset):
        language (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        q (str | Unset):
        author (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | Problem
     """


    return (await asyncio_detailed(
        client=client,
format_=format_,
source_id=source_id,
state=state,
language=language,
since=since,
until=until,
q=q,
author=author,

    )).parsed
