"""One JSON error shape for every failure: ``{"error": {"status", "code", "message", "field"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from perimeter.store import ResolutionConflictError, StoreError, UnknownAlertError
from perimeter.thresholds import ThresholdError

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
          503: "unavailable"}


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    error: ErrorDetail


class ApiError(Exception):
    """An error a route raises on purpose."""

    def __init__(self, status: int, message: str, *, field: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.code = code or _CODES.get(status, "error")
        self.headers = headers


def error_response(status: int, message: str, *, field: str | None = None,
                   code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    detail = ErrorDetail(status=status, code=code or _CODES.get(status, "error"),
                         message=message, field=field)
    return JSONResponse(ErrorBody(error=detail).model_dump(), status_code=status, headers=headers)


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries documenting the error shape."""
    return {status: {"model": ErrorBody, "description": _CODES.get(status, "error")}
            for status in statuses}


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "path", "body", "header"):
        parts = parts[1:]
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through :func:`error_response`."""

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, field=exc.field, code=exc.code,
                              headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            return error_response(422, f"body: not valid JSON ({first['msg']})", field="body")
        field = _field(tuple(first.get("loc", ())))
        message = f"{field}: {first['msg']}" if field else str(first["msg"])
        return error_response(422, message, field=field or None)

    @app.exception_handler(HTTPException)
    async def on_http(_request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(StoreError)
    async def on_store(_request: Request, exc: StoreError) -> JSONResponse:
        return error_response(422, str(exc), field=exc.field)

    @app.exception_handler(ResolutionConflictError)
    async def on_conflict(_request: Request, exc: ResolutionConflictError) -> JSONResponse:
        return error_response(409, str(exc), field=exc.field)

    @app.exception_handler(ThresholdError)
    async def on_threshold(_request: Request, exc: ThresholdError) -> JSONResponse:
        return error_response(422, str(exc), field=exc.name)

    @app.exception_handler(UnknownAlertError)
    async def on_unknown(_request: Request, exc: UnknownAlertError) -> JSONResponse:
        return error_response(404, str(exc), field="alert_id")

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s: %r", request.method, request.url.path, exc)
        return error_response(500, "internal error", code="internal")
