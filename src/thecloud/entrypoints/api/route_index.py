"""Routes grouped by their first path segment, so a request is matched against its group only.

A router tries its routes one after the other, about a microsecond each; with two hundred
routes a request under `/secrets` spent a quarter of its time being matched against the
compute, network and storage routes before it. Every route path here starts with a literal
segment (`/secrets/{secret:path}`, `/health/live`), so a path can only match routes of its
own first segment: each group is a router holding the group's routes, in their original
order, and the app's router holds one route, the index, that finds a path's group in a dict
(trying the groups one by one cost a request under `/secrets`, the 24th, a few more
microseconds). Within a group nothing changes (the first full match wins, a method mismatch
gives 405, an unknown path 404); a path of no group is 404 as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.routing import APIRouter
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send


def first_segment(path: str) -> str:
    """`/secrets/abc` -> `secrets`, `/health` -> `health`, `/` -> ``."""
    end = path.find("/", 1)
    return path[1:] if end < 0 else path[1:end]


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class RouteGroup(BaseRoute):
    """The routes whose path starts with `/<segment>` (or is `/<segment>`)."""

    def __init__(self, segment: str, routes: Sequence[BaseRoute]) -> None:
        self.segment = segment
        self.router = APIRouter(routes=list(routes))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in ("http", "websocket"):
            if first_segment(_route_path(scope)) == self.segment:
                return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.router.app(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return self.router.url_path_for(name, **path_params)

    def __repr__(self) -> str:
        return f"RouteGroup({self.segment!r}, {len(self.router.routes)} routes)"


class RouteIndex(BaseRoute):
    """The groups by segment: a path is the index's when its first segment has a group."""

    def __init__(self, groups: Sequence[RouteGroup]) -> None:
        self.groups = {group.segment: group for group in groups}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in ("http", "websocket"):
            if first_segment(_route_path(scope)) in self.groups:
                return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.groups[first_segment(_route_path(scope))].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for group in self.groups.values():
            try:
                return group.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)

    def __repr__(self) -> str:
        return f"RouteIndex({list(self.groups)})"


def _literal_segment(route: BaseRoute) -> str:
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"route {route!r} has no path to group it by")
    segment = first_segment(path)
    if "{" in segment:
        raise ValueError(f"route {path!r} starts with a parameter: it cannot be grouped")
    return segment


def grouped(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """The routes for an app's router: one RouteIndex of a RouteGroup per first segment, in
    the order each segment first appears."""
    groups: dict[str, list[BaseRoute]] = {}
    for route in routes:
        groups.setdefault(_literal_segment(route), []).append(route)
    return [RouteIndex([RouteGroup(segment, members) for segment, members in groups.items()])]
