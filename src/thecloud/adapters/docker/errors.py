"""Translation of the Docker SDK's and requests' exceptions into the platform's error tree."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import requests
from docker import errors as docker_errors

from thecloud.domain.errors import (
    BackendUnavailable,
    CloudError,
    Conflict,
    InvalidInput,
    NotFound,
)

T = TypeVar("T")


def engine_message(exc: docker_errors.APIError) -> str:
    """The engine's own words for a failed call (its JSON `message`), else the HTTP text."""
    return str(exc.explanation or exc).strip()


def translate(exc: Exception) -> Exception:
    """The platform error for an exception raised by the SDK (others are returned unchanged)."""
    if isinstance(exc, docker_errors.NotFound):
        return NotFound(engine_message(exc))
    if isinstance(exc, docker_errors.APIError):
        return _api_error(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return BackendUnavailable(f"the Docker Engine did not answer in time: {exc}")
    if isinstance(exc, docker_errors.DockerException | requests.exceptions.RequestException):
        return BackendUnavailable(f"the Docker Engine is unreachable: {exc}")
    return exc


_TAKEN = ("port is already allocated", "address already in use")


def _api_error(exc: docker_errors.APIError) -> CloudError:
    message = engine_message(exc)
    if exc.status_code == 409 or any(taken in message for taken in _TAKEN):
        return Conflict(message)
    if exc.status_code == 400 or "invalid reference format" in message:
        return InvalidInput(message)
    return BackendUnavailable(f"the Docker Engine failed: {message}")


def translated(fn: Callable[[], T]) -> T:
    """Call `fn`, raising the platform's error instead of a foreign one."""
    try:
        return fn()
    except (docker_errors.DockerException, requests.exceptions.RequestException) as exc:
        raise translate(exc) from exc


async def off_loop(fn: Callable[[], T]) -> T:
    """Run a blocking SDK call in a worker thread, translating its exceptions."""
    return await asyncio.to_thread(translated, fn)
