"""Annotated dependencies the routes declare: the state, the store, and the caller.

The caller is whoever the bearer token names: an operator from ``perimeter operators add``
(role viewer, operator or admin), or the bootstrap admin holding ``PERIMETER_API_TOKEN``.
Routes take the caller's name from here, never from the request body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from perimeter.store import ROLE_RANK, AlertStore, Role
from perimeter.store.operators import BOOTSTRAP_NAME
from services.api.errors import ApiError
from services.api.state import ApiState

_bearer = HTTPBearer(auto_error=False,
                     description="an operator's token, or PERIMETER_API_TOKEN (bootstrap admin)")


async def get_state(request: Request) -> ApiState:
    state: ApiState = request.state.api
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


async def get_store(state: StateDep) -> AlertStore:
    return state.store


StoreDep = Annotated[AlertStore, Depends(get_store)]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls, as the token says."""

    name: str
    role: Role


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def get_caller(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller named by ``Authorization: Bearer ...`` (401 without a valid token; 403 when
    neither ``PERIMETER_API_TOKEN`` nor any operator is configured)."""
    if state.settings.api_token is None and not await run_in_threadpool(
            state.store.operators.count):
        raise ApiError(403, "writes are disabled: set PERIMETER_API_TOKEN or add operators "
                            "with `perimeter operators add`", headers=_CHALLENGE)
    if credentials is None:
        raise ApiError(401, "missing bearer token (Authorization: Bearer ...)",
                       headers=_CHALLENGE)
    presented = credentials.credentials
    if state.token_matches(presented):
        return Caller(BOOTSTRAP_NAME, "admin")
    operator = await run_in_threadpool(state.store.operators.authenticate, presented)
    if operator is None:
        raise ApiError(401, "invalid bearer token", headers=_CHALLENGE)
    return Caller(operator.name, operator.role)


CallerDep = Annotated[Caller, Depends(get_caller)]


def _needs(role: Role, doing: str) -> Callable[[Caller], Awaitable[Caller]]:
    async def check(caller: CallerDep) -> Caller:
        if ROLE_RANK[caller.role] < ROLE_RANK[role]:
            raise ApiError(403, f"{caller.name} is a {caller.role}; {doing} needs the role "
                                f"{role} or above", field="role")
        return caller
    return check


OperatorCaller = Annotated[Caller, Depends(_needs("operator", "acknowledging, resolving and "
                                                              "commenting on alerts"))]
AdminCaller = Annotated[Caller, Depends(_needs("admin", "changing thresholds"))]
