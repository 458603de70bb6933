"""`thecloud` server command: `serve` (default), `migrate`, `images build`; runs uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from thecloud.bootstrap import Container, bootstrap
from thecloud.config import Settings
from thecloud.domain.errors import CloudError, ConfigurationError
from thecloud.entrypoints.api.app import create_app
from thecloud.entrypoints.workers import Supervisor, listen, server_spec, uvicorn_options

if TYPE_CHECKING:
    from thecloud.adapters.docker.images import BuiltImage


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory); `serve` prepared the store."""
    return create_app(bootstrap(Settings()), migrate=False)


def worker_main() -> None:
    """One of several server processes (THECLOUD_WORKERS > 1), on SO_REUSEPORT sockets."""
    run_servers(Settings(), reuse_port=True)


class _Quiet(uvicorn.Server):
    """A uvicorn server that leaves signals to run_servers (two servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_servers(settings: Settings, *, reuse_port: bool = False) -> None:
    """The REST API and the S3 endpoint in one process, over one container and one loop.
    On SIGTERM/SIGINT the S3 endpoint stops first, then the API (which closes the container)."""
    from thecloud.entrypoints.s3.app import S3App

    container = bootstrap(settings)
    options = uvicorn_options(settings)
    api = _Quiet(uvicorn.Config(create_app(container, migrate=False), **options))
    s3_config = uvicorn.Config(S3App(container), lifespan="off", **options)
    if settings.s3_tls_cert and settings.s3_tls_key:
        s3_config.ssl_certfile, s3_config.ssl_keyfile = settings.s3_tls_cert, settings.s3_tls_key
    s3 = _Quiet(s3_config)
    api_sockets, s3_sockets = None, None
    if reuse_port:
        api_sockets = [listen(settings.host, settings.port)]
        s3_sockets = [listen(settings.host, settings.s3_port)]
    else:
        api.config.host, api.config.port = settings.host, settings.port
        s3.config.host, s3.config.port = settings.host, settings.s3_port
    # uvicorn's loop (uvloop when installed), as uvicorn.run would choose it
    with asyncio.Runner(loop_factory=api.config.get_loop_factory()) as runner:
        runner.run(_serve_pair(api, s3, api_sockets, s3_sockets))


async def _serve_pair(
    api: uvicorn.Server,
    s3: uvicorn.Server,
    api_sockets: list[socket.socket] | None,
    s3_sockets: list[socket.socket] | None,
) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(s3, "should_exit", True))
    s3_task = asyncio.create_task(s3.serve(s3_sockets))
    api_task = asyncio.create_task(api.serve(api_sockets))
    await asyncio.wait({s3_task, api_task}, return_when=asyncio.FIRST_COMPLETED)
    s3.should_exit = True
    await s3_task
    api.should_exit = True
    await api_task


@asynccontextmanager
async def prepared(
    settings: Settings, known: list[BuiltImage] | None = None
) -> AsyncIterator[Container]:
    """Migrate the schema and sync the built-in roles and the image catalog (recording the
    `known` catalog images, else those found on the engine); the platform, closed after."""
    from thecloud.adapters.sql.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.effective_database_url)
    container = bootstrap(settings)
    if known is not None:
        container.discover_images = _listed(known)
    try:
        await container.start()
        yield container
    finally:
        await container.close()


def _listed(images: list[BuiltImage]) -> Callable[[], Awaitable[list[BuiltImage]]]:
    async def found() -> list[BuiltImage]:
        return images

    return found


async def prepare(settings: Settings) -> None:
    """Migrate the schema and sync the built-in roles, once, before any worker starts."""
    async with prepared(settings):
        pass


def serve(settings: Settings) -> None:
    asyncio.run(prepare(settings))
    if settings.workers > 1:
        # preparing imported the whole platform and left no thread running: the workers are
        # forked from here and share those pages (docs/operations.md has the figures)
        import thecloud.entrypoints.s3.app  # noqa: F401 - imported once, for every worker

        fork = threading.active_count() == 1
        Supervisor(settings.workers, server_spec(settings), fork=fork).run()
        return
    run_servers(settings)


def migrate(settings: Settings) -> None:
    from thecloud.adapters.sql.migrate import upgrade_sync

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_sync(settings.effective_database_url)
    print("schema is up to date")  # noqa: T201


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201


def build_images(settings: Settings, names: list[str], force: bool, record: bool = True) -> None:
    """Build catalog images on the local Docker Engine, printing progress and the result,
    then record them in the catalog of the database (which `serve` also does at start)."""
    from thecloud.adapters.docker import DockerRuntime
    from thecloud.adapters.docker.images import build

    runtime = DockerRuntime()
    try:
        built = asyncio.run(build(runtime, names, say, force))
    finally:
        runtime.close()
    for image in built:
        done = "built" if image.built else "exists"
        say(f"{image.name} {image.reference} os={image.os} version={image.version} {done}")
    if record:  # what was just built or found is known: no second look at the engine
        asyncio.run(_record(settings, built))
        say(f"catalog of {settings.effective_database_url.split('://')[0]} database updated")


async def _record(settings: Settings, built: list[BuiltImage]) -> None:
    async with prepared(settings, built):
        pass


def alias_image(settings: Settings, alias: str, target: str) -> None:
    """Make `alias` launch what catalog image `target` is (e.g. alpine -> busybox offline)."""

    async def run() -> None:
        async with prepared(settings) as container:
            row = await container.images.alias(alias, target)
        say(f"{row.name} -> {target} ({row.reference or 'not built yet'})")

    asyncio.run(run())


def pull_image(settings: Settings, reference: str, name: str | None) -> None:
    """Pull an image from a reachable registry into the catalog (as `name`, default the
    reference itself)."""

    async def run() -> None:
        async with prepared(settings) as container:
            row = await container.images.pull(reference, name or reference, say)
        say(f"{row.name} -> {row.reference} (version {row.version})")

    asyncio.run(run())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="thecloud", description="The Cloud server")
    commands = root.add_subparsers(dest="command", metavar="{serve,migrate,images}")
    commands.add_parser("serve", help="migrate, then run the API server (the default)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    images = commands.add_parser("images", help="the local container images of the catalog")
    image_commands = images.add_subparsers(dest="images_command", required=True)
    build = image_commands.add_parser(
        "build", help="build catalog images offline (every one when no NAME is given)"
    )
    build.add_argument("names", nargs="*", metavar="NAME")
    build.add_argument("--force", action="store_true", help="rebuild images that exist")
    build.add_argument(
        "--no-record",
        dest="record",
        action="store_false",
        help="only build; the server records what it finds when it starts",
    )
    alias = image_commands.add_parser(
        "alias", help="make NAME launch catalog image TARGET (shown as an alias in the catalog)"
    )
    alias.add_argument("alias", metavar="NAME")
    alias.add_argument("target", metavar="TARGET")
    pull = image_commands.add_parser(
        "pull", help="pull REFERENCE from its registry into the catalog (needs a reachable one)"
    )
    pull.add_argument("reference", metavar="REFERENCE")
    pull.add_argument("--as", dest="name", metavar="NAME", help="the catalog name to give it")
    return root


def run(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "images" and args.images_command == "alias":
        alias_image(settings, args.alias, args.target)
    elif args.command == "images" and args.images_command == "pull":
        pull_image(settings, args.reference, args.name)
    elif args.command == "images":
        build_images(settings, args.names, args.force, args.record)
    elif args.command == "migrate":
        migrate(settings)
    else:
        serve(settings)


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        run(args, Settings())
    except CloudError as exc:
        print(f"thecloud: {exc.message}", file=sys.stderr)  # noqa: T201
        sys.exit(2 if isinstance(exc, ConfigurationError) else 1)


if __name__ == "__main__":
    main()
