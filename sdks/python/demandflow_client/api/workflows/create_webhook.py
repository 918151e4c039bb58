from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.webhook_secret import WebhookSecret
from typing import cast
from uuid import UUID



def _get_kwargs(
    id: UUID,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/workflows/{id}/webhook".format(id=quote(str(id), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | WebhookSecret | None:
    if response.status_code == 201:
        response_201 = WebhookSecret.from_dict(response.json())



        return response_201

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | WebhookSecret]:
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

) -> Response[Problem | WebhookSecret]:
    """ Create or rotate a workflow's webhook

     Gives the workflow a URL (`/api/v1/hooks/{id}`) where HMAC-signed requests start runs
    with their body as input, and answers its secret — shown here and never again. When the
    workflow has one already, its secret is rotated: the URL stays, and the previous secret
    keeps working for 24 hours. Needs the operator role.

    Args:
        id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookSecret]
     """


    kwargs = _get_kwargs(
        id=id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: UUID,
    *,
    client: AuthenticatedClient,

) -> Problem | WebhookSecret | None:
    """ Create or rotate a workflow's webhook

     Gives the workflow a URL (`/api/v1/hooks/{id}`) where HMAC-signed requests start runs
    with their body as input, and answers its secret — shown here and never again. When the
    workflow has one already, its secret is rotated: the URL stays, and the previous secret
    keeps working for 24 hours. Needs the operator role.

    Args:
        id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookSecret
     """


    return sync_detailed(
        id=id,
client=client,

    ).parsed

async def asyncio_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient,

) -> Response[Problem | WebhookSecret]:
    """ Create or rotate a workflow's webhook

     Gives the workflow a URL (`/api/v1/hooks/{id}`) where HMAC-signed requests start runs
    with their body as input, and answers its secret — shown here and never again. When the
    workflow has one already, its secret is rotated: the URL stays, and the previous secret
    keeps working for 24 hours. Needs the operator role.

    Args:
        id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookSecret]
     """


    kwargs = _get_kwargs(
        id=id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: UUID,
    *,
    client: AuthenticatedClient,

) -> Problem | WebhookSecret | None:
    """ Create or rotate a workflow's webhook

     Gives the workflow a URL (`/api/v1/hooks/{id}`) where HMAC-signed requests start runs
    with their body as input, and answers its secret — shown here and never again. When the
    workflow has one already, its secret is rotated: the URL stays, and the previous secret
    keeps working for 24 hours. Needs the operator role.

    Args:
        id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookSecret
     """


    return (await asyncio_detailed(
        id=id,
client=client,

    )).parsed
