"""`cloud audit` and `cloud events`: the audit log, the event list, and a live event feed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from thecloud.entrypoints.cli.context import Limit, Offset, State, state
from thecloud.entrypoints.cli.output import Output, message

audit_app = typer.Typer(help="The tenant's audit log.", no_args_is_help=True)
events_app = typer.Typer(help="The tenant's events, listed or live.", no_args_is_help=True)

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AGO = re.compile(r"^(\d+)([smhdw])$")


def parse_when(text: str | None) -> datetime | None:
    """`30m`, `2h`, `7d` ago, or an RFC 3339 time (UTC when it names no zone)."""
    if text is None:
        return None
    if match := _AGO.match(text.strip()):
        amount, unit = match.groups()
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: use e.g. 30m, 2h, 7d or 2030-01-31T12:00:00Z") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


Since = Annotated[str | None, typer.Option(help="From: 30m, 2h, 7d ago, or an RFC 3339 time.")]
Until = Annotated[str | None, typer.Option(help="Until: same forms as --since.")]
ResType = Annotated[str | None, typer.Option("--resource-type", help="e.g. secret, api_key.")]
ResId = Annotated[str | None, typer.Option("--resource-id", help="One resource's id.")]


@audit_app.command("list")
def list_audit(
    ctx: typer.Context,
    action: Annotated[str | None, typer.Option(help="e.g. secret:create.")] = None,
    resource_type: ResType = None,
    resource_id: ResId = None,
    actor: Annotated[str | None, typer.Option(help="Actor id.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = None,
    offset: Offset = None,
) -> None:
    """Who did what to which resource, newest first."""
    page = (
        state(ctx)
        .client()
        .audit.list(
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            actor_id=actor,
            since=parse_when(since),
            until=parse_when(until),
            limit=limit,
            offset=offset,
        )
    )
    state(ctx).show_page(page, "audit")


@events_app.command("list")
def list_events(
    ctx: typer.Context,
    type_: Annotated[str | None, typer.Option("--type", help="e.g. secret.create.")] = None,
    resource_type: ResType = None,
    resource_id: ResId = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = None,
    offset: Offset = None,
) -> None:
    """The tenant's events, newest first."""
    page = (
        state(ctx)
        .client()
        .events.list(
            type=type_,
            resource_type=resource_type,
            resource_id=resource_id,
            since=parse_when(since),
            until=parse_when(until),
            limit=limit,
            offset=offset,
        )
    )
    state(ctx).show_page(page, "event")


def event_line(event: Any, fmt: Output) -> str:
    """One live event: a JSON line, or `seq  time  type  resource`."""
    if fmt is not Output.table or not isinstance(event, dict):
        return json.dumps(event, default=str)
    fields = ("seq", "created_at", "type", "resource_type", "resource_id")
    return "\t".join(str(event.get(f, "")) for f in fields)


def _watch(st: State, after: int | None) -> None:
    message("Watching events; Ctrl-C to stop.")
    for msg in st.client().events.stream(after=after):
        typer.echo(event_line(msg["data"], st.output))


@events_app.command()
def watch(
    ctx: typer.Context,
    after: Annotated[
        int | None, typer.Option(min=0, help="Replay events after this sequence number first.")
    ] = None,
) -> None:
    """Print the tenant's events as they happen (server-sent events) until Ctrl-C."""
    try:
        _watch(state(ctx), after)
    except KeyboardInterrupt:
        message("Stopped.")
