"""`thecloud` server command: `serve` (default), `migrate`; runs uvicorn on the settings."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from thecloud.bootstrap import bootstrap
from thecloud.config import Settings
from thecloud.domain.errors import ConfigurationError
from thecloud.entrypoints.api.app import create_app


def serve(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(bootstrap(settings))
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=False,
        server_header=False,
        ws_max_size=1024 * 1024,
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
    settings = Settings()
    try:
        (serve if args.command == "serve" else migrate)(settings)
    except ConfigurationError as exc:
        print(f"thecloud: {exc.message}", file=sys.stderr)  # noqa: T201
        sys.exit(2)


if __name__ == "__main__":
    main()
