"""The one mapping from the error tree to HTTP, and the error envelope."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from thecloud.domain import errors as e
from thecloud.domain.objects import PreconditionFailed, RangeNotSatisfiable
from thecloud.entrypoints.api.envelope import JSONResponse, meta

log = logging.getLogger("thecloud.api")

STATUS: dict[type[e.CloudError], int] = {
    e.InvalidInput: 400,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.PayloadTooLarge: 413,
    PreconditionFailed: 412,
    RangeNotSatisfiable: 416,
    e.QuotaExceeded: 429,
    e.RateLimited: 429,
    e.AccountLocked: 429,
    e.BackendUnavailable: 503,
    e.ConfigurationError: 500,
}

_HTTP_CODES = {
    400: "INVALID_INPUT",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


class ErrorBody(BaseModel):
    type: str
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorMeta(BaseModel):
    request_id: str
    timestamp: datetime


class ErrorEnvelope(BaseModel):
    """Every error response: `{"error": {"type", "code", "message"}, "meta": {...}}`."""

    error: ErrorBody
    meta: ErrorMeta


# Declared on every operation. A declared 4XX also keeps FastAPI from documenting its own 422
# validation body, which this API never sends (invalid input is a 400 in the envelope).
PUBLIC: dict[str, Any] = {"security": []}  # an operation that needs no credentials

RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorEnvelope, "description": "Client error (400, 401, 403, 404, 409, ...)"},
    "5XX": {"model": ErrorEnvelope, "description": "Server error; quote meta.request_id"},
}


def status_of(exc: e.CloudError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def error_response(
    request: Request, status: int, code: str, message: str, **details: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": code, "code": code, "message": message}
    if details:
        body["details"] = details
    headers = (
        {"Retry-After": str(int(details["retry_after"]))} if "retry_after" in details else None
    )
    return JSONResponse({"error": body, "meta": meta(request)}, status_code=status, headers=headers)


async def _cloud_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.CloudError)  # noqa: S101
    status = status_of(exc)
    if status >= 500:
        log.error("request %s failed: %s", getattr(request.state, "request_id", ""), exc.message)
    return error_response(request, status, exc.code, exc.message, **exc.details)


def describe_validation(errors: Any) -> str:
    """One message naming every bad field and what is wrong with it."""
    parts = []
    for err in errors:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            parts.append(f"unknown field '{loc}'")
        elif kind == "json_invalid":
            parts.append(f"malformed JSON: {err.get('ctx', {}).get('error', 'cannot parse body')}")
        elif kind == "missing":
            parts.append(f"missing required field '{loc}'")
        else:
            parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    return error_response(request, 400, "INVALID_INPUT", describe_validation(exc.errors()))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    code = _HTTP_CODES.get(exc.status_code, "ERROR")
    return error_response(request, exc.status_code, code, str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    rid = getattr(request.state, "request_id", "")
    log.exception("unexpected error in request %s", rid, exc_info=exc)
    return error_response(request, 500, "INTERNAL", f"internal error; quote request id {rid}")


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.CloudError, _cloud_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
