"""Routes grouped by first path segment behave as the flat list did."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.routing import NoMatchFound

from thecloud.entrypoints.api.route_index import RouteIndex, first_segment, grouped


def _app() -> FastAPI:
    router = APIRouter()

    @router.get("/things/special")
    def special() -> dict[str, str]:
        return {"which": "special"}

    @router.get("/things/{name:path}")
    def thing(name: str) -> dict[str, str]:
        return {"which": "thing", "name": name}

    @router.get("/other")
    def other() -> dict[str, str]:
        return {"which": "other"}

    @router.get("/things")
    def things() -> dict[str, str]:
        return {"which": "list"}

    app = FastAPI()
    app.router.routes[:] = grouped([*app.router.routes, *router.routes])
    return app


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t")


def test_first_segment() -> None:
    assert first_segment("/secrets/a/b") == "secrets"
    assert first_segment("/health") == "health"
    assert first_segment("/") == ""


def test_one_group_per_segment_in_order_of_first_appearance() -> None:
    app = _app()
    [index] = app.router.routes
    assert isinstance(index, RouteIndex)
    assert list(index.groups)[-2:] == ["things", "other"]
    assert [g.segment for g in index.groups.values()] == list(index.groups)


async def test_the_first_full_match_of_the_group_wins() -> None:
    async with _client() as c:
        assert (await c.get("/things/special")).json() == {"which": "special"}
        assert (await c.get("/things/a/b")).json() == {"which": "thing", "name": "a/b"}
        assert (await c.get("/things")).json() == {"which": "list"}
        assert (await c.get("/other")).json() == {"which": "other"}


async def test_unknown_paths_and_wrong_methods_answer_as_before() -> None:
    async with _client() as c:
        assert (await c.get("/nowhere")).status_code == 404
        assert (await c.get("/other/deeper")).status_code == 404
        assert (await c.post("/things/special")).status_code == 405
        assert (await c.get("/other/")).status_code == 307
        assert (await c.get("/openapi.json")).status_code == 200  # FastAPI's own, grouped too


def test_a_route_starting_with_a_parameter_is_refused() -> None:
    router = APIRouter()

    @router.get("/{anything}")
    def anything(anything: str) -> str:
        return anything

    with pytest.raises(ValueError, match="starts with a parameter"):
        grouped(router.routes)


def test_url_path_for_reaches_the_grouped_routes() -> None:
    app = _app()
    assert app.url_path_for("thing", name="x/y") == "/things/x/y"
    assert app.url_path_for("other") == "/other"
    with pytest.raises(NoMatchFound):
        app.url_path_for("nothing")
