from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.list_sources_kind import ListSourcesKind
from ...models.problem import Problem
from ...models.source_page import SourcePage
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    kind: ListSourcesKind | Unset = UNSET,
    tag: str | Unset = UNSET,
    enabled: bool | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_kind: str | Unset = UNSET
    if not isinstance(kind, Unset):
        json_kind = kind.value

    params["kind"] = json_kind

    params["tag"] = tag

    params["enabled"] = enabled

    params["limit"] = limit

    params["cursor"] = cursor


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/sources",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | SourcePage | None:
    if response.status_code == 200:
        response_200 = SourcePage.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | SourcePage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    kind: ListSourcesKind | Unset = UNSET,
    tag: str | Unset = UNSET,
    enabled: bool | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Response[Problem | SourcePage]:
    """ List sources

     The tenant's live sources, newest first, a page at a time.

    Args:
        kind (ListSourcesKind | Unset):
        tag (str | Unset):
        enabled (bool | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SourcePage]
     """


    kwargs = _get_kwargs(
        kind=kind,
tag=tag,
enabled=enabled,
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
    kind: ListSourcesKind | Unset = UNSET,
    tag: str | Unset = UNSET,
    enabled: bool | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Problem | SourcePage | None:
    """ List sources

     The tenant's live sources, newest first, a page at a time.

    Args:
        kind (ListSourcesKind | Unset):
        tag (str | Unset):
        enabled (bool | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SourcePage
     """


    return sync_detailed(
        client=client,
kind=kind,
tag=tag,
enabled=enabled,
limit=limit,
cursor=cursor,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    kind: ListSourcesKind | Unset = UNSET,
    tag: str | Unset = UNSET,
    enabled: bool | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Response[Problem | SourcePage]:
    """ List sources

     The tenant's live sources, newest first, a page at a time.

    Args:
        kind (ListSourcesKind | Unset):
        tag (str | Unset):
        enabled (bool | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SourcePage]
     """


    kwargs = _get_kwargs(
        kind=kind,
tag=tag,
enabled=enabled,
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
    kind: ListSourcesKind | Unset = UNSET,
    tag: str | Unset = UNSET,
    enabled: bool | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Problem | SourcePage | None:
    """ List sources

     The tenant's live sources, newest first, a page at a time.

    Args:
        kind (ListSourcesKind | Unset):
        tag (str | Unset):
        enabled (bool | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SourcePage
     """


    return (await asyncio_detailed(
        client=client,
kind=kind,
tag=tag,
enabled=enabled,
limit=limit,
cursor=cursor,

    )).parsed
