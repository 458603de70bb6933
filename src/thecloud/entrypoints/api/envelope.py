"""The response envelope, JSON encoding and pagination parameters shared by every route."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Query, Request
from fastapi.responses import Response

from thecloud.domain.common import MAX_LIMIT, ListQuery, Page, PageRequest

T = TypeVar("T")


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default, option=orjson.OPT_UTC_Z)


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def meta(request: Request, **extra: Any) -> dict[str, Any]:
    rid = getattr(request.state, "request_id", "")
    return {"request_id": rid, "timestamp": datetime.now(UTC), **extra}


def ok(
    request: Request, data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"data": data, "meta": meta(request)}, status_code=status, headers=headers)


def listed(request: Request, page: Page[T], shape: Callable[[T], Any]) -> JSONResponse:
    return JSONResponse(
        {
            "data": [shape(item) for item in page.items],
            "meta": meta(
                request,
                total=page.total,
                limit=page.limit,
                offset=page.offset,
                has_more=page.has_more,
            ),
        }
    )


def no_content() -> Response:
    return Response(status_code=204)


def public(item: Any, hide: Sequence[str] = ()) -> dict[str, Any]:
    """A dataclass as a JSON object, without the named (sensitive) fields."""
    kind: type = type(item)
    return shaper(kind, tuple(hide))(item)


@functools.cache
def shaper(kind: type, hide: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    """A function building the object with a dict display, the fastest form in CPython (lists
    shape every row through it). Field names are identifiers: dataclasses made sure of it."""
    names = [f.name for f in dataclasses.fields(kind) if f.name not in hide]
    body = ", ".join(f"{name!r}: item.{name}" for name in names)
    namespace: dict[str, Any] = {}
    exec(f"def shape(item):\n    return {{{body}}}\n", namespace)  # noqa: S102 - names from fields()
    shape: Callable[[Any], dict[str, Any]] = namespace["shape"]
    return shape


# Paging parameters, declared on each list route itself: a shared sub-dependency costs
# FastAPI a dependency solve per request.
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size (max 1000)")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")]


def list_query(limit: int, offset: int, **filters: object) -> ListQuery:
    kept = {k: v for k, v in filters.items() if v is not None}
    return ListQuery(page=PageRequest(limit=limit, offset=offset), filters=kept)
