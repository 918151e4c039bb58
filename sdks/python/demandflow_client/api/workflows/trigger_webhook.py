from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.run import Run
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    id: UUID,
    *,
    body: Any,
    x_demandflow_signature: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_demandflow_signature, Unset):
        headers["X-Demandflow-Signature"] = x_demandflow_signature



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/hooks/{id}".format(id=quote(str(id), safe=""),),
    }

    _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Run | None:
    if response.status_code == 201:
        response_201 = Run.from_dict(response.json())



        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | Run]:
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
    body: Any,
    x_demandflow_signature: str | Unset = UNSET,

) -> Response[Problem | Run]:
    """ Start a run through a webhook

     No API key: the request must carry `X-Demandflow-Signature: t=<unix seconds>,v1=<hex
    HMAC-SHA256 of "<t>.<raw body>">` made with the webhook's secret, at most 5 minutes off.
    The body (a JSON object) becomes the run's input. An unknown webhook, or a missing,
    malformed, stale or wrong signature, is the same 401; a disabled workflow, or a signed
    request sent again (each is accepted once), is a 409. Each webhook takes at most
    `HOOK_RATE_PER_MINUTE` calls a minute (429 with `Retry-After` beyond).

    Args:
        id (UUID):
        x_demandflow_signature (str | Unset):
        body (Any):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Run]
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
    body: Any,
    x_demandflow_signature: str | Unset = UNSET,

) -> Problem | Run | None:
    """ Start a run through a webhook

     No API key: the request must carry `X-Demandflow-Signature: t=<unix seconds>,v1=<hex
    HMAC-SHA256 of "<t>.<raw body>">` made with the webhook's secret, at most 5 minutes off.
    The body (a JSON object) becomes the run's input. An unknown webhook, or a missing,
    malformed, stale or wrong signature, is the same 401; a disabled workflow, or a signed
    request sent again (each is accepted once), is a 409. Each webhook takes at most
    `HOOK_RATE_PER_MINUTE` calls a minute (429 with `Retry-After` beyond).

    Args:
        id (UUID):
        x_demandflow_signature (str | Unset):
        body (Any):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Run
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
    body: Any,
    x_demandflow_signature: str | Unset = UNSET,

) -> Response[Problem | Run]:
    """ Start a run through a webhook

     No API key: the request must carry `X-Demandflow-Signature: t=<unix seconds>,v1=<hex
    HMAC-SHA256 of "<t>.<raw body>">` made with the webhook's secret, at most 5 minutes off.
    The body (a JSON object) becomes the run's input. An unknown webhook, or a missing,
    malformed, stale or wrong signature, is the same 401; a disabled workflow, or a signed
    request sent again (each is accepted once), is a 409. Each webhook takes at most
    `HOOK_RATE_PER_MINUTE` calls a minute (429 with `Retry-After` beyond).

    Args:
        id (UUID):
        x_demandflow_signature (str | Unset):
        body (Any):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Run]
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
    body: Any,
    x_demandflow_signature: str | Unset = UNSET,

) -> Problem | Run | None:
    """ Start a run through a webhook

     No API key: the request must carry `X-Demandflow-Signature: t=<unix seconds>,v1=<hex
    HMAC-SHA256 of "<t>.<raw body>">` made with the webhook's secret, at most 5 minutes off.
    The body (a JSON object) becomes the run's input. An unknown webhook, or a missing,
    malformed, stale or wrong signature, is the same 401; a disabled workflow, or a signed
    request sent again (each is accepted once), is a 409. Each webhook takes at most
    `HOOK_RATE_PER_MINUTE` calls a minute (429 with `Retry-After` beyond).

    Args:
        id (UUID):
        x_demandflow_signature (str | Unset):
        body (Any):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Run
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,
x_demandflow_signature=x_demandflow_signature,

    )).parsed
