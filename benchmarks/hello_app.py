"""Hello-world reference apps for the secrets and S3 benchmarks.

Three apps, each answering ``GET /`` with ``{"hello": "world"}``:

* ``fastapi_app``: plain FastAPI, no middleware: the ceiling a FastAPI route can reach
  on this machine under the same uvicorn settings as our server;
* ``starlette_app``: plain Starlette, one layer below FastAPI;
* ``asgi_app``: a raw ASGI callable, no framework at all, as our S3 endpoint
  (``thecloud.entrypoints.s3.app.S3App``) is: the ceiling of that stack.

Run one with ``python benchmarks/hello_app.py {asgi,fastapi,starlette} --port PORT
[--workers N]``. ``UVICORN_SETTINGS`` mirrors how ``thecloud.entrypoints.server`` runs
uvicorn (uvloop + httptools when installed, log level warning, no server header) and
``--workers`` matches ``THECLOUD_WORKERS`` (default 1: one process; N > 1: our server's
supervisor, with a SO_REUSEPORT socket per worker), so the only difference with our ``/health/live``
row is our application stack itself.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from thecloud.entrypoints.workers import Supervisor, WorkerSpec

HOST = "127.0.0.1"
HELLO = {"hello": "world"}

# Keep in step with serve() in src/thecloud/entrypoints/server.py (the bench runs ours
# with THECLOUD_LOG_LEVEL=warning); the rest are uvicorn's defaults, spelled out.
UVICORN_SETTINGS: dict[str, Any] = {
    "log_level": "warning",
    "proxy_headers": False,
    "server_header": False,
    "ws_max_size": 1024 * 1024,
    "loop": "auto",  # uvloop when installed
    "http": "auto",  # httptools when installed
    "access_log": True,  # uvicorn's default; filtered out at log level warning
}

fastapi_app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@fastapi_app.get("/")
async def fastapi_hello() -> dict[str, str]:
    """Return the hello payload through FastAPI's response model path."""
    return HELLO


async def starlette_hello(_request: Request) -> JSONResponse:
    """Return the hello payload with a bare Starlette JSON response."""
    return JSONResponse(HELLO)


starlette_app = Starlette(routes=[Route("/", starlette_hello)])

HELLO_BODY = json.dumps(HELLO, separators=(",", ":")).encode()
HELLO_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(HELLO_BODY)).encode()),
    ],
}


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every HTTP request with the hello payload: two ASGI messages, nothing else."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] == "http":
        await send(HELLO_START)
        await send({"type": "http.response.body", "body": HELLO_BODY})


APPS: dict[str, Any] = {"asgi": asgi_app, "fastapi": fastapi_app, "starlette": starlette_app}


def main(argv: list[str] | None = None) -> None:
    """Serve the chosen hello app on 127.0.0.1:PORT until terminated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(APPS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args(argv)
    if args.workers > 1:  # the same supervisor as our server: a SO_REUSEPORT socket per worker
        spec = WorkerSpec(
            f"{Path(__file__).stem}:{args.kind}_app",
            HOST,
            args.port,
            UVICORN_SETTINGS,
            app_dir=str(Path(__file__).parent),
        )
        Supervisor(args.workers, spec).run()
        return
    uvicorn.run(APPS[args.kind], host=HOST, port=args.port, **UVICORN_SETTINGS)


if __name__ == "__main__":
    main()
