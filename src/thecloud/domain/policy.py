"""AWS-IAM-style policy documents (ABAC): parsing, serialisation and evaluation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from thecloud.domain.policy_conditions import (
    IF_EXISTS,
    SUPPORTED_OPERATORS,
    ConditionBlock,
    canonical_operator,
    condition_text,
    conditions_match,
    normalise_context,
    value_requirement,
    wildcard_match,
)

__all__ = [
    "DEFAULT_VERSION",
    "MAX_STATEMENTS",
    "SUPPORTED_OPERATORS",
    "Decision",
    "Effect",
    "InvalidPolicy",
    "PolicyDocument",
    "Statement",
    "action_allowed_by_permissions",
    "evaluate",
    "parse_policy_document",
    "policy_to_dict",
    "wildcard_match",
]

DEFAULT_VERSION: Final = "2012-10-17"
SUPPORTED_VERSIONS: Final = ("2012-10-17", "2008-10-17")
MAX_STATEMENTS: Final = 100
_ACTION_RE: Final = re.compile(r"\*|[A-Za-z0-9_*?-]+:[A-Za-z0-9_.*?-]+")
_TOP_KEYS: Final = {"version": "Version", "statement": "Statement", "statements": "Statement"}
_STATEMENT_KEYS: Final = {
    **{name.lower(): name for name in ("Sid", "Effect", "Action", "Resource", "Condition")},
    **{plural: plural[:-1].capitalize() for plural in ("actions", "resources", "conditions")},
}
_UNSUPPORTED_KEYS: Final = {
    "notaction": "NotAction is not supported; list the actions in Action instead",
    "notresource": "NotResource is not supported; list the resources in Resource instead",
    "principal": "Principal is not supported; a policy applies to whoever it is attached to",
    "notprincipal": "NotPrincipal is not supported; a policy applies to whoever it is attached to",
}


class InvalidPolicy(ValueError):
    """A policy document is malformed; the message says which field to fix and how."""


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class Decision(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"
    NOT_APPLICABLE = "NotApplicable"


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement; `conditions` maps operator -> {condition key -> accepted values}."""

    effect: Effect
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: ConditionBlock = field(default_factory=dict, hash=False)
    sid: str = ""


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    statements: tuple[Statement, ...]
    version: str = DEFAULT_VERSION


# --- parsing -------------------------------------------------------------------------------


def _show(value: object) -> str:
    """Render a bad value for an error message, JSON-style and truncated."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True, slots=True)
class _Where:
    """Location of a statement, for error messages: `Statement[1].Effect ... (Sid "x")`."""

    index: int
    sid: str = ""

    def error(self, path: str, problem: str) -> InvalidPolicy:
        suffix = f" (Sid {_show(self.sid)})" if self.sid else ""
        return InvalidPolicy(f"Statement[{self.index}]{path} {problem}{suffix}")


def _load(raw: object) -> object:
    if not isinstance(raw, str | bytes | bytearray):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        message = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InvalidPolicy(f"Policy document is not valid JSON: {message}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidPolicy("Policy document is not valid UTF-8 JSON text") from exc


def _canonical_keys(
    raw: Mapping[object, object], aliases: Mapping[str, str], where: str
) -> dict[str, object]:
    """Map keys case-insensitively onto canonical names, rejecting unknown and repeated ones."""
    fields: dict[str, object] = {}
    spelled: dict[str, object] = {}
    for key, value in raw.items():
        name = aliases.get(key.lower()) if isinstance(key, str) else None
        if name is None:
            supported = ", ".join(sorted(set(aliases.values())))
            raise InvalidPolicy(
                f"{where} has unknown key {_show(key)}; supported keys: {supported}"
            )
        if name in fields:
            both = f"{_show(spelled[name])} and {_show(key)}"
            raise InvalidPolicy(f"{where} gives {name} twice (as {both}); keep only one")
        fields[name], spelled[name] = value, key
    return fields


def _parse_version(value: object) -> str:
    if value in SUPPORTED_VERSIONS:
        return str(value)
    raise InvalidPolicy(f'Policy document Version must be "{DEFAULT_VERSION}", got {_show(value)}')


def _statement_list(value: object) -> list[object]:
    if isinstance(value, Mapping):
        return [value]
    if not isinstance(value, list | tuple):
        raise InvalidPolicy(
            f"Policy document Statement must be a list of statement objects, got {_show(value)}"
        )
    if not value:
        raise InvalidPolicy("Policy document Statement must contain at least one statement")
    if len(value) > MAX_STATEMENTS:
        raise InvalidPolicy(
            f"Policy document has {len(value)} statements; the maximum is {MAX_STATEMENTS}. "
            "Merge statements or split the policy into several policies"
        )
    return list(value)


def _peek_sid(raw: Mapping[object, object]) -> str:
    found = (v for k, v in raw.items() if isinstance(k, str) and k.lower() == "sid")
    sid = next(found, "")
    return sid if isinstance(sid, str) else ""


def _statement_fields(raw: object, index: int) -> tuple[dict[str, object], _Where]:
    if not isinstance(raw, Mapping):
        raise InvalidPolicy(
            f"Statement[{index}] must be an object with Effect, Action and optional "
            f"Resource/Condition, got {_show(raw)}"
        )
    where = _Where(index, _peek_sid(raw))
    for key in raw:
        problem = _UNSUPPORTED_KEYS.get(key.lower()) if isinstance(key, str) else None
        if problem is not None:
            raise where.error("", f"has key {_show(key)}: {problem}")
    fields = _canonical_keys(raw, _STATEMENT_KEYS, f"Statement[{index}]")
    return fields, where


def _parse_effect(value: object, where: _Where) -> Effect:
    if value is None:
        raise where.error(".Effect", 'is required; use "Allow" or "Deny"')
    for effect in Effect:
        if isinstance(value, str) and value.lower() == effect.value.lower():
            return effect
    raise where.error(".Effect", f'must be "Allow" or "Deny", got {_show(value)}')


def _string_items(value: object, where: _Where, name: str) -> list[tuple[str, str]]:
    """(path, text) pairs for a field given as a string or a non-empty list of strings."""
    if isinstance(value, str):
        return [(f".{name}", value)]
    if not isinstance(value, list | tuple):
        raise where.error(f".{name}", f"must be a string or a list of strings, got {_show(value)}")
    if not value:
        raise where.error(f".{name}", "must not be an empty list")
    for position, item in enumerate(value):
        if not isinstance(item, str):
            raise where.error(f".{name}[{position}]", f"must be a string, got {_show(item)}")
    return [(f".{name}[{position}]", item) for position, item in enumerate(value)]


def _parse_actions(value: object, where: _Where) -> tuple[str, ...]:
    if value is None:
        raise where.error(".Action", 'is required, e.g. "secret:read", "secret:*" or "*"')
    items = _string_items(value, where, "Action")
    for path, action in items:
        if not _ACTION_RE.fullmatch(action):
            raise where.error(
                path,
                f'{_show(action)} is not a valid action; use "service:verb" (e.g. "secret:read"),'
                ' "*", or wildcards * and ? (e.g. "secret:*")',
            )
    return tuple(action for _, action in items)


def _parse_resources(value: object, where: _Where) -> tuple[str, ...]:
    if value is None:
        return ("*",)
    items = _string_items(value, where, "Resource")
    for path, resource in items:
        if not resource.strip():
            raise where.error(path, 'must not be blank; use "*" for every resource')
    return tuple(resource for _, resource in items)


def _parse_sid(value: object, where: _Where) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    raise where.error(".Sid", f"must be a string, got {_show(value)}")


# --- conditions ----------------------------------------------------------------------------


def _condition_values(value: object, where: _Where, path: str) -> tuple[str, ...]:
    items = list(value) if isinstance(value, list | tuple) else [value]
    texts = tuple(condition_text(item) for item in items)
    if not items or any(text is None for text in texts):
        raise where.error(
            path,
            f"must be a string, number, boolean or non-empty list of those, got {_show(value)}",
        )
    return tuple(text for text in texts if text is not None)


def _operator_name(name: object, where: _Where) -> str:
    canonical = canonical_operator(name) if isinstance(name, str) else None
    if canonical is None:
        supported = ", ".join(SUPPORTED_OPERATORS)
        raise where.error(
            ".Condition",
            f"has unknown operator {_show(name)}; supported operators: {supported} "
            f"(each may end in {IF_EXISTS}, except Null)",
        )
    return canonical


def _check_values(operator: str, values: tuple[str, ...], where: _Where, path: str) -> None:
    for value in values:
        requirement = value_requirement(operator, value)
        if requirement is not None:
            raise where.error(path, f"value {_show(value)} must be {requirement}")


def _parse_operator_block(
    operator: str, block: object, where: _Where
) -> dict[str, tuple[str, ...]]:
    path = f".Condition.{operator}"
    if not isinstance(block, Mapping) or not block:
        raise where.error(path, f"must be a non-empty object of key -> values, got {_show(block)}")
    keys: dict[str, tuple[str, ...]] = {}
    for key, value in block.items():
        if not isinstance(key, str) or not key.strip():
            raise where.error(path, f"has an invalid condition key {_show(key)}")
        if key.lower() in (seen.lower() for seen in keys):
            raise where.error(path, f"gives key {_show(key)} more than once (keys ignore case)")
        keys[key] = _condition_values(value, where, f"{path}.{key}")
        _check_values(operator, keys[key], where, f"{path}.{key}")
    return keys


def _parse_conditions(value: object, where: _Where) -> ConditionBlock:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise where.error(
            ".Condition", f"must be an object of operator -> {{key: values}}, got {_show(value)}"
        )
    parsed: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for name, block in value.items():
        operator = _operator_name(name, where)
        if operator in parsed:
            raise where.error(".Condition", f"gives operator {operator} more than once")
        parsed[operator] = MappingProxyType(_parse_operator_block(operator, block, where))
    return MappingProxyType(parsed)


# --- documents -----------------------------------------------------------------------------


def _parse_statement(index: int, raw: object) -> Statement:
    fields, where = _statement_fields(raw, index)
    return Statement(
        effect=_parse_effect(fields.get("Effect"), where),
        actions=_parse_actions(fields.get("Action"), where),
        resources=_parse_resources(fields.get("Resource"), where),
        conditions=_parse_conditions(fields.get("Condition"), where),
        sid=_parse_sid(fields.get("Sid"), where),
    )


def _check_unique_sids(statements: Sequence[Statement]) -> None:
    first: dict[str, int] = {}
    for index, statement in enumerate(statements):
        if statement.sid in first:
            raise _Where(index, statement.sid).error(
                ".Sid", f"repeats Statement[{first[statement.sid]}].Sid; Sids must be unique"
            )
        if statement.sid:
            first[statement.sid] = index


def parse_policy_document(raw: object) -> PolicyDocument:
    """Validate an AWS-style or lower-case-style document (object or JSON text)."""
    data = _load(raw)
    if not isinstance(data, Mapping):
        raise InvalidPolicy(
            f'Policy document must be an object with a "Statement" list, got {_show(data)}'
        )
    top = _canonical_keys(data, _TOP_KEYS, "Policy document")
    if "Statement" not in top:
        raise InvalidPolicy('Policy document is missing "Statement" (a list of statements)')
    version = _parse_version(top.get("Version", DEFAULT_VERSION))
    items = _statement_list(top["Statement"])
    statements = tuple(_parse_statement(index, item) for index, item in enumerate(items))
    _check_unique_sids(statements)
    return PolicyDocument(statements=statements, version=version)


def _statement_to_dict(statement: Statement) -> dict[str, object]:
    out: dict[str, object] = {"Sid": statement.sid} if statement.sid else {}
    out["Effect"] = Effect(statement.effect).value
    out["Action"] = list(statement.actions)
    out["Resource"] = list(statement.resources)
    if statement.conditions:
        out["Condition"] = {
            op: {key: list(values) for key, values in keys.items()}
            for op, keys in statement.conditions.items()
        }
    return out


def policy_to_dict(doc: PolicyDocument) -> dict[str, object]:
    """AWS-style, JSON-serialisable form that `parse_policy_document` accepts back."""
    return {"Version": doc.version, "Statement": [_statement_to_dict(s) for s in doc.statements]}


# --- evaluation ----------------------------------------------------------------------------


def _statement_applies(
    statement: Statement, action: str, names: Sequence[str], context: Mapping[str, object]
) -> bool:
    """Action (case-insensitive), resource (any pattern x any name) and conditions all match."""
    if not any(wildcard_match(pattern.lower(), action) for pattern in statement.actions):
        return False
    if not any(wildcard_match(p, name) for p in statement.resources for name in names):
        return False
    return conditions_match(statement.conditions, context)


def evaluate(
    documents: Iterable[PolicyDocument],
    action: str,
    resources: Sequence[str],
    context: Mapping[str, object],
) -> Decision:
    """Explicit Deny wins, then any Allow; otherwise NotApplicable (the caller denies)."""
    names = (resources,) if isinstance(resources, str) else resources
    action, ctx, allowed = action.lower(), normalise_context(context), False
    for document in documents:
        for statement in document.statements:
            if _statement_applies(statement, action, names, ctx):
                if statement.effect == Effect.DENY:
                    return Decision.DENY
                allowed = True
    return Decision.ALLOW if allowed else Decision.NOT_APPLICABLE


def action_allowed_by_permissions(permissions: Iterable[str], action: str) -> bool:
    """RBAC check: a permission such as "*", "instance:*" or "secret:read" grants the action."""
    wanted = action.lower()
    return any(wildcard_match(permission.lower(), wanted) for permission in permissions)
