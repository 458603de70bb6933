"""Small functions generated once per statement or entity type, for the per-row hot path.

A list of a hundred rows runs these a hundred times per request: a generated tuple
display or a straight sequence of slot stores costs a fraction of a generic loop or of
a frozen dataclass's `__init__` (which goes through `object.__setattr__` per field).
Only positions and the entity's own field names go into the generated source.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

Convert = Callable[[Any], Any] | None


def _compile(source: str, name: str, namespace: dict[str, Any]) -> Any:
    exec(source, namespace)  # noqa: S102 - source built from positions and field names only
    return namespace[name]


def row_converter(converters: Sequence[Convert]) -> Callable[[Sequence[Any]], list[Any]] | None:
    """`rows -> rows` with each column passed through its converter, or None if none has one."""
    if all(c is None for c in converters):
        return None
    cells = ", ".join(f"r[{i}]" if c is None else f"c{i}(r[{i}])" for i, c in enumerate(converters))
    namespace = {f"c{i}": c for i, c in enumerate(converters) if c is not None}
    source = f"def convert(rows):\n    return [({cells},) for r in rows]\n"
    return _compile(source, "convert", namespace)  # type: ignore[no-any-return]


@functools.cache
def entity_loader(entity: type) -> Callable[[Sequence[Any]], Any]:
    """`row -> entity` for a row holding every field in order.

    Frozen dataclasses with slots (the domain's entities) get their slots filled directly;
    anything else, or anything with a `__post_init__`, is built by calling the class.
    """
    slots = getattr(entity, "__slots__", None)
    names = [f.name for f in dataclasses.fields(entity)]
    if slots is None or hasattr(entity, "__post_init__") or tuple(slots) != tuple(names):
        return lambda row: entity(*row)
    namespace: dict[str, Any] = {"new": object.__new__, "E": entity}
    lines = []
    for i, name in enumerate(names):
        namespace[f"s{i}"] = getattr(entity, name).__set__
        lines.append(f"    s{i}(o, r[{i}])")
    body = "\n".join(lines)
    return _compile(f"def load(r):\n    o = new(E)\n{body}\n    return o\n", "load", namespace)  # type: ignore[no-any-return]
