"""The Docker adapter's parsing of the engine's formats: versions, log frames, times."""

from __future__ import annotations

from datetime import UTC, datetime

from thecloud.adapters.docker.logs import log_lines, since_param
from thecloud.adapters.docker.parse import engine_time, listed_state
from thecloud.adapters.docker.recipes import RECIPES
from thecloud.adapters.docker.rootfs import upstream_version
from thecloud.domain.compute import CATALOG, PortMapping


def test_debian_versions_lose_epoch_revision_and_repack_suffix() -> None:
    cases = {"1:10.11.6-0+deb12u1": "10.11.6", "18.19.0+dfsg-6~deb12u2": "18.19.0", "7": "7"}
    assert {raw: upstream_version(raw) for raw in cases} == cases


def test_log_lines_are_whole_lines_per_stream_across_frames() -> None:
    chunks = [
        ("stdout", b"2024-05-01T10:00:00.123456789Z hel"),
        ("stderr", b"2024-05-01T10:00:00.2Z oops\n"),
        ("stdout", b"lo\n2024-05-01T10:00:01Z tail"),
    ]
    lines = list(log_lines(chunks))
    assert [(line.stream, line.text) for line in lines] == [
        ("stderr", "oops"),
        ("stdout", "hello"),
        ("stdout", "tail"),
    ]
    assert lines[1].at == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)


def test_engine_zero_time_is_none_and_since_keeps_microseconds() -> None:
    assert engine_time("0001-01-01T00:00:00Z") is None
    assert since_param(datetime(2024, 5, 1, 10, 0, 0, 5, tzinfo=UTC)) == "1714557600.000005000"


ANY = "0.0.0.0"  # noqa: S104 - the engine's answer, not a binding


def test_a_listed_container_with_its_bound_ports_once_per_address_family() -> None:
    item = {
        "Id": "abc",
        "Names": ["/thecloud-i1"],
        "Image": "thecloud/busybox:1.35.0",
        "State": "running",
        "Labels": {"thecloud.instance": "i1"},
        "Ports": [
            {"IP": ANY, "PrivatePort": 80, "PublicPort": 32768, "Type": "tcp"},
            {"IP": "::", "PrivatePort": 80, "PublicPort": 32768, "Type": "tcp"},
            {"IP": ANY, "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"},
            {"PrivatePort": 22, "Type": "tcp"},  # exposed, not published
        ],
    }
    state = listed_state(item)
    assert (state.id, state.name, state.status, state.image) == (
        "abc", "thecloud-i1", "running", "thecloud/busybox:1.35.0",
    )  # fmt: skip
    assert state.labels == {"thecloud.instance": "i1"} and state.exit_code is None
    assert state.ports == (PortMapping(5353, 53, "udp"), PortMapping(32768, 80, "tcp"))


def test_the_builder_has_a_recipe_for_every_catalog_image_and_no_other() -> None:
    assert sorted(RECIPES) == sorted(CATALOG)
