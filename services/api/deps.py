"""Annotated dependencies the routes declare: the state, the store, the writer's token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from perimeter.store import AlertStore
from services.api.errors import ApiError
from services.api.state import ApiState

_bearer = HTTPBearer(auto_error=False, description="PERIMETER_API_TOKEN")


async def get_state(request: Request) -> ApiState:
    state: ApiState = request.state.api
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


async def get_store(state: StateDep) -> AlertStore:
    return state.store


StoreDep = Annotated[AlertStore, Depends(get_store)]


async def require_token(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes need ``Authorization: Bearer $PERIMETER_API_TOKEN`` (compared in constant time)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if state.settings.api_token is None:
        raise ApiError(403, "writes are disabled: PERIMETER_API_TOKEN is not set",
                       headers=challenge)
    if credentials is None:
        raise ApiError(401, "missing bearer token (Authorization: Bearer ...)",
                       headers=challenge)
    if not state.token_matches(credentials.credentials):
        raise ApiError(401, "invalid bearer token", headers=challenge)


Writer = Annotated[None, Depends(require_token)]
