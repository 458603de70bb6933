"""The Python SDK of The Cloud: `Client` (sync) and `AsyncClient` over the REST API."""

from __future__ import annotations

from thecloud.sdk._core import JSON, Page
from thecloud.sdk.client import AsyncClient, Client
from thecloud.sdk.console import AsyncConsoleSession, ConsoleSession
from thecloud.sdk.errors import (
    APIConnectionError,
    CloudAPIError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ResourceFailedError,
    ServerError,
    UnauthorizedError,
    ValidationError,
    WaitError,
    WaitTimeoutError,
)

__all__ = [
    "JSON",
    "APIConnectionError",
    "AsyncClient",
    "AsyncConsoleSession",
    "Client",
    "CloudAPIError",
    "ConflictError",
    "ConsoleSession",
    "ForbiddenError",
    "NotFoundError",
    "Page",
    "RateLimitedError",
    "ResourceFailedError",
    "ServerError",
    "UnauthorizedError",
    "ValidationError",
    "WaitError",
    "WaitTimeoutError",
]
