"""Shared value objects: ids, pages, list queries, request context."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

from thecloud.domain.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def new_id() -> str:
    """A new UUIDv4 as text: the id of every resource. What `str(uuid.uuid4())` gives, built
    from the hex of the 16 random bytes (half the time of the UUID class; a PUT makes three)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which slice of a list the caller wants."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One slice of a list plus the size of the whole list."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Equality filters, label filters and a page: what every list accepts."""

    page: PageRequest = field(default_factory=PageRequest)
    filters: Mapping[str, object] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    since: datetime | None = None
    until: datetime | None = None
    newest_first: bool = False

    def __post_init__(self) -> None:
        # A time given without an offset (`?since=2030-01-01T00:00:00`) means UTC.
        object.__setattr__(self, "since", as_utc(self.since))
        object.__setattr__(self, "until", as_utc(self.until))


def as_utc(when: datetime | None) -> datetime | None:
    """`when`, read as UTC if it has no offset."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Where a call came from: used for audit records and policy conditions."""

    request_id: str = ""
    source_ip: str = ""
    user_agent: str = ""
    secure_transport: bool = False


_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")


def validate_name(name: str, what: str) -> str:
    """The name rule of instances, VPCs, subnets, groups, volumes, ...: 1-63 letters, digits,
    '.', '_' or '-', starting with a letter or digit."""
    if not _NAME.match(name):
        raise InvalidInput(
            f"{what} name {name!r} is invalid: 1-63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name
