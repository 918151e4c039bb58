from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.postback_result import PostbackResult
from ...models.postback_schema import PostbackSchema
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    id: UUID,
    *,
    body: PostbackSchema,
    x_demandflow_signature: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_demandflow_signature, Unset):
        headers["X-Demandflow-Signature"] = x_demandflow_signature



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/partners/{id}/postback".format(id=quote(str(id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PostbackResult | Problem | None:
    if response.status_code == 200:
        response_200 = PostbackResult.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PostbackResult | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostbackSchema,
    x_demandflow_signature: str | Unset = UNSET,

) -> Response[PostbackResult | Problem]:
    """ Receive a partner's postback

     No API key: sign the exact body with the partner's postback secret. Correlated by your
    lead id (or our reference); a repeat, a late event or an event after a refusal is
    answered 200 with `changed: false`.

    Args:
        id (UUID):
        x_demandflow_signature (str | Unset):
        body (PostbackSchema): A postback: `{event: accepted | converted | returned, lead_id
            (yours) or reference (the
            idempotency key we sent), price?, reason?}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PostbackResult | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,
x_demandflow_signature=x_demandflow_signature,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostbackSchema,
    x_demandflow_signature: str | Unset = UNSET,

) -> PostbackResult | Problem | None:
    """ Receive a partner's postback

     No API key: sign the exact body with the partner's postback secret. Correlated by your
    lead id (or our reference); a repeat, a late event or an event after a refusal is
    answered 200 with `changed: false`.

    Args:
        id (UUID):
        x_demandflow_signature (str | Unset):
        body (PostbackSchema): A postback: `{event: accepted | converted | returned, lead_id
            (yours) or reference (the
            idempotency key we sent), price?, reason?}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PostbackResult | Problem
     """


    return sync_detailed(
        id=id,
client=client,
body=body,
x_demandflow_signature=x_demandflow_signature,

    ).parsed

async def asyncio_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostbackSchema,
    x_demandflow_signature: str | Unset = UNSET,

) -> Response[PostbackResult | Problem]:
    """ Receive a partner's postback

     No API key: sign the exact body with the partner's postback secret. Correlated by your
    lead id (or our reference); a repeat, a late event or an event after a refusal is
    answered 200 with `changed: false`.

    Args:
        id (UUID):
        x_demandflow_signature (str | Unset):
        body (PostbackSchema): A postback: `{event: accepted | converted | returned, lead_id
            (yours) or reference (the
            idempotency key we sent), price?, reason?}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PostbackResult | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,
x_demandflow_signature=x_demandflow_signature,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PostbackSchema,
    x_demandflow_signature: str | Unset = UNSET,

) -> PostbackResult | Problem | None:
    """ Receive a partner's postback

     No API key: sign the exact body with the partner's postback secret. Correlated by your
    lead id (or our reference); a repeat, a late event or an event after a refusal is
    answered 200 with `changed: false`.

    Args:
        id (UUID):
        x_demandflow_signature (str | Unset):
        body (PostbackSchema): A postback: `{event: accepted | converted | returned, lead_id
            (yours) or reference (the
            idempotency key we sent), price?, reason?}`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PostbackResult | Problem
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,
x_demandflow_signature=x_demandflow_signature,

    )).parsed
