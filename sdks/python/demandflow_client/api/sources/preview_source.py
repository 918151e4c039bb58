from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.new_source import NewSource
from ...models.problem import Problem
from ...models.source_preview import SourcePreview
from typing import cast



def _get_kwargs(
    *,
    body: NewSource,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/sources/preview",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | SourcePreview | None:
    if response.status_code == 200:
        response_200 = SourcePreview.from_dict(response.json())



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

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())



        return response_429

    if response.status_code == 500:
        response_500 = Problem.from_dict(response.json())



        return response_500

    if response.status_code == 502:
        response_502 = Problem.from_dict(response.json())



        return response_502

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | SourcePreview]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: NewSource,

) -> Response[Problem | SourcePreview]:
    """ Preview an API source

     One sample fetch of the request a new API source (`hn_search`, `json_api`, `mastodon`,
    `bluesky_search`, `x_search`, `reddit_search`) would make first, read with its
    settings: the first 20 items as they would be stored, and the cursor a poll would keep.
    Takes the body of `createSource` and stores nothing; an API that wants a token gets one
    for its `secret` first. The targets are checked against private addresses like every
    outbound call. Needs the operator role.

    Args:
        body (NewSource): A source to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SourcePreview]
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
    body: NewSource,

) -> Problem | SourcePreview | None:
    """ Preview an API source

     One sample fetch of the request a new API source (`hn_search`, `json_api`, `mastodon`,
    `bluesky_search`, `x_search`, `reddit_search`) would make first, read with its
    settings: the first 20 items as they would be stored, and the cursor a poll would keep.
    Takes the body of `createSource` and stores nothing; an API that wants a token gets one
    for its `secret` first. The targets are checked against private addresses like every
    outbound call. Needs the operator role.

    Args:
        body (NewSource): A source to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SourcePreview
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: NewSource,

) -> Response[Problem | SourcePreview]:
    """ Preview an API source

     One sample fetch of the request a new API source (`hn_search`, `json_api`, `mastodon`,
    `bluesky_search`, `x_search`, `reddit_search`) would make first, read with its
    settings: the first 20 items as they would be stored, and the cursor a poll would keep.
    Takes the body of `createSource` and stores nothing; an API that wants a token gets one
    for its `secret` first. The targets are checked against private addresses like every
    outbound call. Needs the operator role.

    Args:
        body (NewSource): A source to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SourcePreview]
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
    body: NewSource,

) -> Problem | SourcePreview | None:
    """ Preview an API source

     One sample fetch of the request a new API source (`hn_search`, `json_api`, `mastodon`,
    `bluesky_search`, `x_search`, `reddit_search`) would make first, read with its
    settings: the first 20 items as they would be stored, and the cursor a poll would keep.
    Takes the body of `createSource` and stores nothing; an API that wants a token gets one
    for its `secret` first. The targets are checked against private addresses like every
    outbound call. Needs the operator role.

    Args:
        body (NewSource): A source to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SourcePreview
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
