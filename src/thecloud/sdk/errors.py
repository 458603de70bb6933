"""The SDK's error tree: one exception per kind of API failure, built from the error envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CloudAPIError(Exception):
    """An API call failed: `status` (0 if the server was not reached), stable `code`, message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"[{self.code}] {self.message}{rid}"


class ValidationError(CloudAPIError):
    """400 or 422: the request was malformed or named unknown fields."""


class UnauthorizedError(CloudAPIError):
    """401: missing, wrong, expired or revoked credentials."""


class ForbiddenError(CloudAPIError):
    """403: authenticated, but not allowed to do this."""


class NotFoundError(CloudAPIError):
    """404: no such resource (or one of another tenant)."""


class ConflictError(CloudAPIError):
    """409: the resource exists, or an Idempotency-Key was reused with another body."""


class RateLimitedError(CloudAPIError):
    """429: too many requests (or a quota); `retry_after` seconds when the server says."""

    retry_after: float | None = None


class ServerError(CloudAPIError):
    """5xx: the server failed or a backend is unavailable."""


class APIConnectionError(CloudAPIError):
    """The server could not be reached or did not answer in time."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "CONNECTION_ERROR", message)


class WaitError(CloudAPIError):
    """A wait ended without the wanted status (status 0); `resource` is the last state seen."""

    CODE = "WAIT_FAILED"

    def __init__(self, message: str, resource: Mapping[str, Any] | None = None) -> None:
        super().__init__(0, self.CODE, message)
        self.resource: dict[str, Any] = dict(resource or {})


class ResourceFailedError(WaitError):
    """The resource landed in a failed status (e.g. ERROR); the message gives its reason."""

    CODE = "RESOURCE_FAILED"


class WaitTimeoutError(WaitError):
    """The wanted status was not reached before the timeout."""

    CODE = "WAIT_TIMEOUT"


_BY_STATUS: dict[int, type[CloudAPIError]] = {
    400: ValidationError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitedError,
}


def error_class(status: int) -> type[CloudAPIError]:
    """The exception class for an HTTP status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, CloudAPIError)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form only), else None."""
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _error_part(status: int, body: Any, text: str) -> dict[str, Any]:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error
    return {"code": f"HTTP_{status}", "message": text.strip()[:500] or f"HTTP {status}"}


def _request_id(body: Any, headers: Mapping[str, str]) -> str | None:
    meta = body.get("meta") if isinstance(body, dict) else None
    rid = meta.get("request_id") if isinstance(meta, dict) else None
    return str(rid) if rid else headers.get("x-request-id")


def error_from_response(
    status: int, body: Any, headers: Mapping[str, str], text: str = ""
) -> CloudAPIError:
    """Build the exception for a failed response from its error envelope (or its raw text)."""
    error = _error_part(status, body, text)
    code = str(error.get("code") or error.get("type") or f"HTTP_{status}")
    details = error.get("details") if isinstance(error.get("details"), dict) else None
    exc = error_class(status)(
        status, code, str(error.get("message", "")), _request_id(body, headers), details
    )
    if isinstance(exc, RateLimitedError):
        exc.retry_after = parse_retry_after(headers.get("retry-after"))
    return exc
