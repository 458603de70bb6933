"""Wildcard matching and IAM condition operators (StringEquals, IpAddress, ...) for policies."""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Final, TypeAlias, TypeVar
from uuid import UUID

__all__ = [
    "IF_EXISTS",
    "SUPPORTED_OPERATORS",
    "ConditionBlock",
    "canonical_operator",
    "condition_text",
    "conditions_match",
    "normalise_context",
    "value_requirement",
    "wildcard_match",
]

ConditionBlock: TypeAlias = Mapping[str, Mapping[str, tuple[str, ...]]]
IpAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
Test: TypeAlias = Callable[[object, str], bool]
_T = TypeVar("_T", Decimal, datetime)

IF_EXISTS: Final = "IfExists"
_NULL: Final = "Null"


# --- wildcards -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Glob:
    """A pattern split on `*`: fixed-length head, middle segments and tail."""

    head: re.Pattern[str]
    middle: tuple[re.Pattern[str], ...]
    tail: re.Pattern[str]
    tail_len: int


def _segment(text: str) -> re.Pattern[str]:
    """Compile a star-free segment; `?` matches exactly one character."""
    return re.compile("".join("." if ch == "?" else re.escape(ch) for ch in text), re.DOTALL)


@lru_cache(maxsize=4096)
def _compile_glob(pattern: str) -> _Glob | re.Pattern[str]:
    parts = pattern.split("*")
    if len(parts) == 1:
        return _segment(pattern)
    middle = tuple(_segment(part) for part in parts[1:-1])
    return _Glob(_segment(parts[0]), middle, _segment(parts[-1]), len(parts[-1]))


def _glob_match(glob: _Glob, value: str) -> bool:
    """Greedy leftmost placement of fixed-length segments: linear, never backtracks."""
    head = glob.head.match(value)
    if head is None:
        return False
    pos = head.end()
    for segment in glob.middle:
        found = segment.search(value, pos)
        if found is None:
            return False
        pos = found.end()
    start = len(value) - glob.tail_len
    return start >= pos and glob.tail.fullmatch(value, start) is not None


def wildcard_match(pattern: str, value: str) -> bool:
    """Case-sensitive match: `*` is any run of characters (':' and '/' too), `?` exactly one."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == value
    glob = _compile_glob(pattern)
    if isinstance(glob, _Glob):
        return _glob_match(glob, value)
    return glob.fullmatch(value) is not None


# --- context value coercion ----------------------------------------------------------------


def condition_text(value: object) -> str | None:
    """String form of a scalar condition value (bools as "true"/"false"), else None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return None


def _to_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _to_datetime(value: object) -> datetime | None:
    """Aware datetime from a datetime or an RFC 3339 string; naive values are taken as UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().upper())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _to_ip(value: object) -> IpAddress | None:
    if isinstance(value, str):
        try:
            value = ipaddress.ip_address(value.strip())
        except ValueError:
            return None
    if isinstance(value, ipaddress.IPv6Address) and value.ipv4_mapped is not None:
        return value.ipv4_mapped
    return value if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address) else None


@lru_cache(maxsize=1024)
def _to_network(text: str) -> IpNetwork | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


_policy_decimal = lru_cache(maxsize=1024)(_to_decimal)
_policy_datetime = lru_cache(maxsize=1024)(_to_datetime)


# --- operator tests (context value, policy value) -> bool -----------------------------------


def _string_equals(have: object, want: str) -> bool:
    return condition_text(have) == want


def _string_equals_ignore_case(have: object, want: str) -> bool:
    text = condition_text(have)
    return text is not None and text.casefold() == want.casefold()


def _string_like(have: object, want: str) -> bool:
    text = condition_text(have)
    return text is not None and wildcard_match(want, text)


def _bool(have: object, want: str) -> bool:
    text = condition_text(have)
    return text is not None and text.lower() == want.lower()


def _ip_address(have: object, want: str) -> bool:
    address, network = _to_ip(have), _to_network(want)
    if address is None or network is None or address.version != network.version:
        return False
    return address in network


def _comparison(
    convert: Callable[[object], _T | None],
    cached: Callable[[str], _T | None],
    compare: Callable[[_T, _T], bool],
) -> Test:
    def test(have: object, want: str) -> bool:
        left, right = convert(have), cached(want)
        return left is not None and right is not None and compare(left, right)

    return test


# --- operator table ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Operator:
    test: Test
    negated: bool = False
    check: Callable[[str], bool] | None = None
    expects: str = ""


_ORDERINGS: Final[Mapping[str, tuple[Callable[[Any, Any], bool], bool]]] = {
    "Equals": (operator.eq, False),
    "NotEquals": (operator.eq, True),
    "LessThan": (operator.lt, False),
    "LessThanEquals": (operator.le, False),
    "GreaterThan": (operator.gt, False),
    "GreaterThanEquals": (operator.ge, False),
}
_NUMBER: Final = 'a number such as "10" or "2.5"'
_DATE: Final = 'an RFC 3339 timestamp such as "2030-01-01T00:00:00Z"'
_IP: Final = 'an IP address or CIDR block such as "10.0.0.0/8" or "2001:db8::/32"'
_BOOL: Final = '"true" or "false"'


def _is_network(text: str) -> bool:
    return _to_network(text) is not None


def _is_bool(text: str) -> bool:
    return text.lower() in ("true", "false")


def _ordered_family(
    prefix: str,
    convert: Callable[[object], _T | None],
    cached: Callable[[str], _T | None],
    expects: str,
) -> dict[str, _Operator]:
    def check(text: str) -> bool:
        return cached(text) is not None

    return {
        prefix + suffix: _Operator(_comparison(convert, cached, compare), negated, check, expects)
        for suffix, (compare, negated) in _ORDERINGS.items()
    }


_OPERATORS: Final[Mapping[str, _Operator]] = {
    "StringEquals": _Operator(_string_equals),
    "StringNotEquals": _Operator(_string_equals, negated=True),
    "StringEqualsIgnoreCase": _Operator(_string_equals_ignore_case),
    "StringNotEqualsIgnoreCase": _Operator(_string_equals_ignore_case, negated=True),
    "StringLike": _Operator(_string_like),
    "StringNotLike": _Operator(_string_like, negated=True),
    **_ordered_family("Numeric", _to_decimal, _policy_decimal, _NUMBER),
    **_ordered_family("Date", _to_datetime, _policy_datetime, _DATE),
    "Bool": _Operator(_bool, check=_is_bool, expects=_BOOL),
    "IpAddress": _Operator(_ip_address, check=_is_network, expects=_IP),
    "NotIpAddress": _Operator(_ip_address, negated=True, check=_is_network, expects=_IP),
}

SUPPORTED_OPERATORS: Final[tuple[str, ...]] = (*_OPERATORS, _NULL)
_BY_LOWER: Final[Mapping[str, str]] = {name.lower(): name for name in SUPPORTED_OPERATORS}


def canonical_operator(name: str) -> str | None:
    """Canonical spelling of an operator (case-insensitive, optional IfExists), or None."""
    lowered = name.lower()
    stem = lowered.removesuffix(IF_EXISTS.lower())
    base = _BY_LOWER.get(stem)
    if_exists = stem != lowered
    if base is None or (if_exists and base == _NULL):
        return None
    return base + IF_EXISTS if if_exists else base


@lru_cache(maxsize=256)
def _split_operator(name: str) -> tuple[str, bool]:
    canonical = canonical_operator(name) or name
    base = canonical.removesuffix(IF_EXISTS)
    return base, base != canonical


def value_requirement(operator_name: str, value: str) -> str | None:
    """None if `value` suits the operator, else a description of what it must be."""
    base, _ = _split_operator(operator_name)
    if base == _NULL:
        return None if _is_bool(value) else '"true" (key absent) or "false" (key present)'
    spec = _OPERATORS.get(base)
    if spec is None or spec.check is None or spec.check(value):
        return None
    return spec.expects


# --- evaluation ----------------------------------------------------------------------------


def normalise_context(context: Mapping[str, object]) -> dict[str, object]:
    """Lower-case the condition keys (they compare case-insensitively); drop None values."""
    return {key.lower(): value for key, value in context.items() if value is not None}


def _context_values(raw: object) -> tuple[object, ...]:
    if raw is None:
        return ()
    if isinstance(raw, list | tuple | set | frozenset):
        return tuple(raw)
    return (raw,)


def _key_matches(spec: _Operator, if_exists: bool, raw: object, values: Iterable[str]) -> bool:
    """ANY context value against ANY policy value; negated operators need NONE to match."""
    present = _context_values(raw)
    if not present:
        return if_exists
    hit = any(spec.test(have, want) for have in present for want in values)
    return hit != spec.negated


def _null_matches(raw: object, values: Iterable[str]) -> bool:
    absent = not _context_values(raw)
    return any((want.lower() == "true") == absent for want in values)


def _operator_matches(
    name: str, keys: Mapping[str, tuple[str, ...]], context: Mapping[str, object]
) -> bool:
    """ALL keys under one operator must match; unknown operators never match."""
    base, if_exists = _split_operator(name)
    if base == _NULL:
        return all(_null_matches(context.get(key.lower()), vals) for key, vals in keys.items())
    spec = _OPERATORS.get(base)
    if spec is None:
        return False
    return all(
        _key_matches(spec, if_exists, context.get(key.lower()), vals) for key, vals in keys.items()
    )


def conditions_match(conditions: ConditionBlock, context: Mapping[str, object]) -> bool:
    """ALL operators must match; `context` must come from `normalise_context`."""
    return all(_operator_matches(name, keys, context) for name, keys in conditions.items())
