"""UTC timestamps are stored on SQLite as the text SQLAlchemy's DATETIME writes (string order is
time order, and rows written by either path compare), from one C call instead of two
processors."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from thecloud.adapters.sql.types import UtcDateTime, sqlite_utc, sqlite_utc_text

SQLITE = sqlite.dialect()
COLUMN = UtcDateTime()


def sqlalchemy_text(value: datetime) -> str:
    """What SQLAlchemy's own processors store: our UTC conversion, then SQLite's DATETIME."""
    impl = COLUMN.impl.dialect_impl(SQLITE).bind_processor(SQLITE)
    assert impl is not None
    return str(impl(COLUMN.process_bind_param(value, SQLITE)))


def moments() -> list[datetime]:
    rng = random.Random(6)
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-11))]
    fixed = [
        datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds: still six digits
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),  # a year of three digits
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=zones[2]),  # the next year in UTC
        datetime(1, 1, 1, 23, 0, tzinfo=timezone(timedelta(hours=-1))),
    ]
    drawn = [
        datetime(
            rng.randint(1, 9998),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
            rng.choice([0, rng.randint(0, 999_999)]),
            tzinfo=rng.choice(zones),
        )  # fmt: skip
        for _ in range(2000)
    ]
    return fixed + drawn


def test_the_stored_text_is_what_sqlalchemy_stores() -> None:
    assert COLUMN.bind_processor(SQLITE) is sqlite_utc_text
    for moment in moments():
        assert sqlite_utc_text(moment) == sqlalchemy_text(moment), moment


def test_the_stored_text_reads_back_as_the_same_moment_in_utc() -> None:
    for moment in moments()[:200]:
        back = sqlite_utc(sqlite_utc_text(moment))
        assert back == moment and back is not None and back.tzinfo is UTC


def test_naive_datetimes_are_refused_and_none_stays_none() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_utc_text(datetime(2031, 1, 1))  # noqa: DTZ001
    assert sqlite_utc_text(None) is None


def test_postgresql_keeps_sqlalchemys_processors() -> None:
    assert COLUMN.bind_processor(postgresql.dialect()) is not sqlite_utc_text
