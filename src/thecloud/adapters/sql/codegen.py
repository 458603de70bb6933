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

    Frozen dataclasses with slots (the domain's entities) are filled as an instance of a
    mutable twin with the same slots, with plain attribute stores (the cheapest store
    CPython has, half the cost of calling each slot's setter), and then become the
    entity by `__class__` assignment, which CPython allows between classes of the same
    layout. Anything else, or anything with a `__post_init__`, is built by calling the
    class.
    """
    slots = getattr(entity, "__slots__", None)
    names = [f.name for f in dataclasses.fields(entity)]
    if slots is None or hasattr(entity, "__post_init__") or tuple(slots) != tuple(names):
        return lambda row: entity(*row)
    twin = _twin(entity, tuple(names))
    namespace: dict[str, Any] = {"new": object.__new__, "T": twin, "E": entity}
    body = "\n".join(f"    o.{name} = r[{i}]" for i, name in enumerate(names))
    source = f"def load(r):\n    o = new(T)\n{body}\n    o.__class__ = E\n    return o\n"
    return _compile(source, "load", namespace)  # type: ignore[no-any-return]


def _twin(entity: type, names: tuple[str, ...]) -> type:
    """A plain class with the entity's slots; the check proves CPython accepts the switch."""
    twin = type(f"_{entity.__name__}Row", (), {"__slots__": names})
    probe: Any = object.__new__(twin)
    probe.__class__ = entity  # raises TypeError at start-up if the layouts ever differ
    return twin
