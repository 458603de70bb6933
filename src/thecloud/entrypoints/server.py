"""`thecloud` server command: `serve` (default), `migrate`; runs uvicorn on the settings."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn
from fastapi import FastAPI

from thecloud.bootstrap import bootstrap
from thecloud.config import Settings
from thecloud.domain.errors import ConfigurationError
from thecloud.entrypoints.api.app import create_app
from thecloud.entrypoints.workers import Supervisor, server_spec, uvicorn_options


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory); `serve` prepared the store."""
    return create_app(bootstrap(Settings()), migrate=False)


async def prepare(settings: Settings) -> None:
    """Migrate the schema and sync the built-in roles, once, before any worker starts."""
    from thecloud.adapters.sql.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.effective_database_url)
    container = bootstrap(settings)
    try:
        await container.start()
    finally:
        await container.close()


def serve(settings: Settings) -> None:
    asyncio.run(prepare(settings))
    if settings.workers > 1:
        Supervisor(settings.workers, server_spec(settings)).run()
        return
    uvicorn.run(
        "thecloud.entrypoints.server:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        **uvicorn_options(settings),
    )


def migrate(settings: Settings) -> None:
    from thecloud.adapters.sql.migrate import upgrade_sync

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_sync(settings.effective_database_url)
    print("schema is up to date")  # noqa: T201


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="thecloud", description="The Cloud server")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings()
    try:
        (serve if args.command == "serve" else migrate)(settings)
    except ConfigurationError as exc:
        print(f"thecloud: {exc.message}", file=sys.stderr)  # noqa: T201
        sys.exit(2)


if __name__ == "__main__":
    main()
