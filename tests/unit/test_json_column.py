"""Stored JSON documents read back as the standard library reads them, and are written in a
form it reads back to the same value."""

from __future__ import annotations

import json
import math

import pytest

from thecloud.adapters.sql.rawread import json_dumps, json_loads

DOCUMENTS = [
    {}, [], None, 0, "text", {"a": [1, 2.5, None, True, False, "ü€😀"]},
    {"nested": {"deep": [{"k": "v"}]}}, [10**18, -(10**18), 1e-300],
]  # fmt: skip


@pytest.mark.parametrize("value", DOCUMENTS)
def test_documents_read_back_as_json_loads_reads_them(value: object) -> None:
    text = json.dumps(value)
    assert json_loads(text) == json.loads(text)
    assert json_loads(text.encode()) == json.loads(text)


def test_what_orjson_refuses_and_json_dumps_writes_still_reads() -> None:
    doc = json_loads(json.dumps({"nan": math.nan, "inf": math.inf, "big": 10**30}))
    assert math.isnan(doc["nan"]) and doc["inf"] == math.inf and doc["big"] == 10**30


def test_a_broken_document_still_fails() -> None:
    with pytest.raises(ValueError):
        json_loads("{not json")


@pytest.mark.parametrize("value", DOCUMENTS)
def test_written_documents_read_back_as_the_same_value(value: object) -> None:
    assert json.loads(json_dumps(value)) == value
    assert json_loads(json_dumps(value)) == value


def test_what_orjson_refuses_to_write_is_written_by_the_standard_library() -> None:
    # keys that are not strings and integers past 64 bits: orjson raises, json.dumps writes
    assert json.loads(json_dumps({1: "a", "big": 10**30})) == {"1": "a", "big": 10**30}


def test_nan_is_written_as_null_which_postgresql_also_requires() -> None:
    assert json.loads(json_dumps({"nan": math.nan, "inf": math.inf})) == {"nan": None, "inf": None}
