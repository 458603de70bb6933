"""Stored JSON documents read back as the standard library reads them."""

from __future__ import annotations

import json
import math

import pytest

from thecloud.adapters.sql.rawread import json_loads

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
