from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.new_ruleset import NewRuleset
from ...models.problem import Problem
from ...models.ruleset import Ruleset
from typing import cast



def _get_kwargs(
    *,
    body: NewRuleset,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/rulesets",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Ruleset | None:
    if response.status_code == 201:
        response_201 = Ruleset.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | Ruleset]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: NewRuleset,

) -> Response[Problem | Ruleset]:
    """ Create a ruleset

     Keyword rules for `classify_signal`, at version 1, checked as a whole: every problem is
    named in one 422 (`rules.terms[3].weight`). A name already used in the tenant is a 409.
    Needs the admin role.

    Args:
        body (NewRuleset): A ruleset to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Ruleset]
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
    body: NewRuleset,

) -> Problem | Ruleset | None:
    """ Create a ruleset

     Keyword rules for `classify_signal`, at version 1, checked as a whole: every problem is
    named in one 422 (`rules.terms[3].weight`). A name already used in the tenant is a 409.
    Needs the admin role.

    Args:
        body (NewRuleset): A ruleset to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Ruleset
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: NewRuleset,

) -> Response[Problem | Ruleset]:
    """ Create a ruleset

     Keyword rules for `classify_signal`, at version 1, checked as a whole: every problem is
    named in one 422 (`rules.terms[3].weight`). A name already used in the tenant is a 409.
    Needs the admin role.

    Args:
        body (NewRuleset): A ruleset to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Ruleset]
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
    body: NewRuleset,

) -> Problem | Ruleset | None:
    """ Create a ruleset

     Keyword rules for `classify_signal`, at version 1, checked as a whole: every problem is
    named in one 422 (`rules.terms[3].weight`). A name already used in the tenant is a 409.
    Needs the admin role.

    Args:
        body (NewRuleset): A ruleset to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Ruleset
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
