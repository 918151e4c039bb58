from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.list_runs_status import ListRunsStatus
from ...models.problem import Problem
from ...models.run_list import RunList
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    *,
    workflow: UUID | Unset = UNSET,
    status: ListRunsStatus | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_workflow: str | Unset = UNSET
    if not isinstance(workflow, Unset):
        json_workflow = str(workflow)
    params["workflow"] = json_workflow

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/runs",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RunList | None:
    if response.status_code == 200:
        response_200 = RunList.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | RunList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    workflow: UUID | Unset = UNSET,
    status: ListRunsStatus | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[Problem | RunList]:
    """ List runs

     Newest first, optionally of one workflow and in one status. An unknown `status` or a
    `limit` outside 1 to 500 is a 422 naming the parameter.

    Args:
        workflow (UUID | Unset):
        status (ListRunsStatus | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RunList]
     """


    kwargs = _get_kwargs(
        workflow=workflow,
status=status,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    workflow: UUID | Unset = UNSET,
    status: ListRunsStatus | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Problem | RunList | None:
    """ List runs

     Newest first, optionally of one workflow and in one status. An unknown `status` or a
    `limit` outside 1 to 500 is a 422 naming the parameter.

    Args:
        workflow (UUID | Unset):
        status (ListRunsStatus | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RunList
     """


    return sync_detailed(
        client=client,
workflow=workflow,
status=status,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    workflow: UUID | Unset = UNSET,
    status: ListRunsStatus | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[Problem | RunList]:
    """ List runs

     Newest first, optionally of one workflow and in one status. An unknown `status` or a
    `limit` outside 1 to 500 is a 422 naming the parameter.

    Args:
        workflow (UUID | Unset):
        status (ListRunsStatus | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RunList]
     """


    kwargs = _get_kwargs(
        workflow=workflow,
status=status,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    workflow: UUID | Unset = UNSET,
    status: ListRunsStatus | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Problem | RunList | None:
    """ List runs

     Newest first, optionally of one workflow and in one status. An unknown `status` or a
    `limit` outside 1 to 500 is a 422 naming the parameter.

    Args:
        workflow (UUID | Unset):
        status (ListRunsStatus | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RunList
     """


    return (await asyncio_detailed(
        client=client,
workflow=workflow,
status=status,
limit=limit,

    )).parsed
