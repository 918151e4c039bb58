from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.estimate import Estimate
from ...models.estimate_request import EstimateRequest
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    *,
    body: EstimateRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/budgets/estimate",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Estimate | Problem | None:
    if response.status_code == 200:
        response_200 = Estimate.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Estimate | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: EstimateRequest,

) -> Response[Estimate | Problem]:
    """ Estimate a batch's cost

     Before a batch from a source is classified: how many paid LLM calls it should take and
    what they should cost, from the source's history (the share of its signals the keywords
    left undecided, memo hits, the average settled cost of a call in the ledger), or from
    conservative fallbacks when it has none; and what the tenant's budgets for the provider
    have left.

    Args:
        body (EstimateRequest): A batch to estimate.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Estimate | Problem]
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
    body: EstimateRequest,

) -> Estimate | Problem | None:
    """ Estimate a batch's cost

     Before a batch from a source is classified: how many paid LLM calls it should take and
    what they should cost, from the source's history (the share of its signals the keywords
    left undecided, memo hits, the average settled cost of a call in the ledger), or from
    conservative fallbacks when it has none; and what the tenant's budgets for the provider
    have left.

    Args:
        body (EstimateRequest): A batch to estimate.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Estimate | Problem
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: EstimateRequest,

) -> Response[Estimate | Problem]:
    """ Estimate a batch's cost

     Before a batch from a source is classified: how many paid LLM calls it should take and
    what they should cost, from the source's history (the share of its signals the keywords
    left undecided, memo hits, the average settled cost of a call in the ledger), or from
    conservative fallbacks when it has none; and what the tenant's budgets for the provider
    have left.

    Args:
        body (EstimateRequest): A batch to estimate.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Estimate | Problem]
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
    body: EstimateRequest,

) -> Estimate | Problem | None:
    """ Estimate a batch's cost

     Before a batch from a source is classified: how many paid LLM calls it should take and
    what they should cost, from the source's history (the share of its signals the keywords
    left undecided, memo hits, the average settled cost of a call in the ledger), or from
    conservative fallbacks when it has none; and what the tenant's budgets for the provider
    have left.

    Args:
        body (EstimateRequest): A batch to estimate.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Estimate | Problem
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
