"""The executor contract and the resource base: each API method is written once for both clients.

A resource method builds a `Call` and hands it to the executor. The sync executor returns
results; the async one returns awaitables. The five type parameters say what each kind of call
returns: one object, a page, a plain list, nothing, and a stream of objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

from thecloud.sdk._core import JSON, Call
from thecloud.sdk._wait import Poll

One_co = TypeVar("One_co", covariant=True)
Page_co = TypeVar("Page_co", covariant=True)
List_co = TypeVar("List_co", covariant=True)
Done_co = TypeVar("Done_co", covariant=True)
Stream_co = TypeVar("Stream_co", covariant=True)

One = TypeVar("One")
PageT = TypeVar("PageT")
ListT = TypeVar("ListT")
Done = TypeVar("Done")
Stream = TypeVar("Stream")

Ref = str | Mapping[str, Any]  # a resource by id or name, or the object a call returned


def ident(ref: Ref) -> tuple[str, JSON | None]:
    """The id (or name) to address a resource by, and the object when one was given."""
    if isinstance(ref, Mapping):
        return str(ref["id"]), dict(ref)
    return ref, None


class Executor(Protocol[One_co, Page_co, List_co, Done_co, Stream_co]):
    """Sends calls; the sync and async clients each implement it once."""

    def one(self, call: Call) -> One_co:
        """The call's `data` object."""
        ...

    def page(self, call: Call) -> Page_co:
        """One page of a list."""
        ...

    def items(self, call: Call) -> List_co:
        """A `data` that is a plain list."""
        ...

    def done(self, call: Call) -> Done_co:
        """A call answered without a body (204)."""
        ...

    def iterate(self, call: Call, page_size: int) -> Stream_co:
        """Every item of a list, page after page."""
        ...

    def sse(self, call: Call) -> Stream_co:
        """Server-sent events of a stream, one dict per message."""
        ...

    def websocket(self, call: Call) -> Stream_co:
        """The JSON messages of a WebSocket stream, one dict each, until it ends."""
        ...

    def wait(self, poll: Poll) -> One_co:
        """Repeat the poll's GET until it settles; the last object seen."""
        ...


class Resource(Generic[One, PageT, ListT, Done, Stream]):
    """A group of API methods over one executor."""

    def __init__(self, x: Executor[One, PageT, ListT, Done, Stream]) -> None:
        self._x = x
