"""The server's image commands on fakes: each bootstraps the platform once, and recording
what `images build` made takes no second look at the engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.unit.conftest import BUSYBOX_REF, memory_adapters, unit_settings
from thecloud.adapters.docker.images import BuiltImage
from thecloud.adapters.sql import migrate
from thecloud.bootstrap import Adapters, Container, bootstrap
from thecloud.config import Settings
from thecloud.domain.errors import BackendUnavailable
from thecloud.entrypoints import server

BUSYBOX = BuiltImage("busybox", BUSYBOX_REF, "busybox", "1.35.0", built=True)


class Fakes:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.adapters: Adapters = memory_adapters()
        self.settings: Settings = unit_settings().model_copy(update={"data_dir": tmp_path})
        self.boots = 0
        self.looks = 0

        async def discover() -> list[BuiltImage]:
            self.looks += 1
            return [BUSYBOX]

        async def upgraded(_: str) -> None:
            return None

        def booted(settings: Settings) -> Container:
            self.boots += 1
            self.adapters.discover_images = discover
            return bootstrap(settings, adapters=self.adapters)

        monkeypatch.setattr(migrate, "upgrade", upgraded)
        monkeypatch.setattr(server, "bootstrap", booted)

    def image(self, name: str) -> tuple[str, str]:
        async def read() -> tuple[str, str]:
            async with self.adapters.uow(read_only=True) as uow:
                row = await uow.images.find_one(tenant_id=None, name=name)
            assert row is not None
            return str(row.status), row.reference

        return asyncio.run(read())


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Fakes:
    return Fakes(monkeypatch, tmp_path)


def test_built_images_are_recorded_without_looking_again(fakes: Fakes) -> None:
    asyncio.run(server._record(fakes.settings, [BUSYBOX]))
    assert (fakes.boots, fakes.looks) == (1, 0)
    assert fakes.image("busybox") == ("AVAILABLE", BUSYBOX_REF)


def test_serve_prepares_by_looking_at_the_engine(fakes: Fakes) -> None:
    asyncio.run(server.prepare(fakes.settings))
    assert (fakes.boots, fakes.looks) == (1, 1)
    assert fakes.image("busybox") == ("AVAILABLE", BUSYBOX_REF)


def test_alias_and_pull_bootstrap_once(fakes: Fakes) -> None:
    server.alias_image(fakes.settings, "alpine", "busybox")
    assert fakes.boots == 1
    assert fakes.image("alpine") == ("AVAILABLE", BUSYBOX_REF)
    with pytest.raises(BackendUnavailable, match="no registry"):
        server.pull_image(fakes.settings, "alpine:3.19", None)
    assert fakes.boots == 2
