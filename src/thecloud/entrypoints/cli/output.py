"""How the CLI prints results: Rich tables with chosen columns per resource, JSON or YAML."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table


class Output(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


COLUMNS: dict[str, tuple[str, ...]] = {
    "key": ("id", "name", "prefix", "tenant_id", "active", "last_used_at", "created_at"),
    "tenant": ("id", "name", "slug", "personal", "created_at"),
    "binding": ("id", "principal_id", "principal_type", "role_name", "created_at"),
    "quota": ("resource", "limit", "used", "available"),
    "role": ("id", "name", "builtin", "permissions", "description"),
    "policy": ("id", "name", "description", "created_at"),
    "attachment": ("id", "policy_id", "principal_type", "principal_id", "created_at"),
    "service_account": ("id", "name", "role", "enabled", "description", "created_at"),
    "sa_secret": ("id", "prefix", "active", "created_at", "revoked_at"),
    "secret": ("id", "name", "version", "description", "updated_at", "last_accessed_at"),
    "audit": ("created_at", "action", "outcome", "resource_type", "resource_id", "actor_id"),
    "event": ("seq", "created_at", "type", "resource_type", "resource_id"),
    "instance": ("name", "status", "image", "instance_type", "private_ip", "host_ports", "id"),
    "vpc": ("name", "cidr_block", "status", "gateway_ip", "id"),
    "dns_zone": ("name", "visibility", "vpc_id", "status", "server", "id"),
    "dns_record": ("name", "type", "content", "ttl", "managed", "id"),
    "subnet": ("name", "cidr_block", "availability_zone", "gateway_ip", "vpc_id", "id"),
    "security_group": ("name", "vpc_id", "is_default", "rules", "instances", "id"),
    "security_rule": (
        "priority",
        "direction",
        "action",
        "protocol",
        "ports",
        "peer",
        "description",
        "id",
    ),  # fmt: skip
    "peering": ("id", "status", "requester_vpc_id", "accepter_vpc_id", "created_at"),
    "elastic_ip": ("address", "status", "instance_id", "id", "created_at"),
    "internet_gateway": ("name", "status", "vpc_id", "id", "created_at"),
    "nat_gateway": ("id", "status", "vpc_id", "subnet_id", "eip_id", "created_at"),
    "route_table": ("name", "vpc_id", "is_main", "routes", "id"),
    "route": ("destination_cidr", "target_type", "target_id"),
    "image": ("name", "status", "os", "version", "reference", "alias_of", "id"),
    "instance_type": ("id", "category", "vcpus", "memory_mb", "disk_gb", "price_per_hour"),
    "ssh_key": ("name", "fingerprint", "id", "created_at"),
    "deployment": ("name", "status", "image", "replicas", "ports", "instance_type", "id"),
    "volume": ("name", "size_gb", "status", "instance_id", "mount_path", "encrypted", "id"),
    "snapshot": ("id", "volume_id", "size_gb", "status", "description", "created_at"),
}
_MAX_LISTED = 6


def console() -> Console:
    """A console on the current stdout; wide when it is not a terminal, so ids stay whole."""
    return Console(width=None if sys.stdout.isatty() else 200, highlight=False)


def cell(value: Any) -> str:
    """One value as table text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        shown = [cell(v) for v in value]
        return ", ".join(shown) if len(shown) <= _MAX_LISTED else f"{len(shown)} items"
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def to_text(data: Any, fmt: Output) -> str:
    """Data as JSON or YAML text."""
    if fmt is Output.yaml:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")
    return json.dumps(data, indent=2, default=str)


def _columns(rows: Sequence[Mapping[str, Any]], kind: str) -> tuple[str, ...]:
    if kind in COLUMNS:
        return COLUMNS[kind]
    return tuple(rows[0].keys()) if rows else ()


def rows_table(rows: Sequence[Mapping[str, Any]], kind: str) -> Table:
    """A list of objects, one row each."""
    columns = _columns(rows, kind)
    table = Table(*[c.upper().replace("_", " ") for c in columns], box=None, pad_edge=False)
    for row in rows:
        table.add_row(*[cell(row.get(c)) for c in columns])
    return table


def record_table(record: Mapping[str, Any]) -> Table:
    """One object as field / value lines."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in record.items():
        table.add_row(key, cell(value))
    return table


def render(data: Any, fmt: Output, kind: str = "") -> None:
    """Print a result: a list of objects, one object, or a plain value."""
    if fmt is not Output.table:
        typer.echo(to_text(data, fmt))
    elif isinstance(data, list) and all(isinstance(x, Mapping) for x in data):
        console().print(rows_table(data, kind) if data else "(none)")
    elif isinstance(data, Mapping):
        console().print(record_table(data))
    else:
        typer.echo(cell(data))


def render_page(items: list[Any], fmt: Output, kind: str, footer: str = "") -> None:
    """Print one page of a list, with a 'showing x of y' line under a table."""
    render(items, fmt, kind)
    if fmt is Output.table and footer:
        typer.echo(footer, err=True)


def message(text: str) -> None:
    """An informational line, on stderr so stdout stays the result."""
    typer.echo(text, err=True)
