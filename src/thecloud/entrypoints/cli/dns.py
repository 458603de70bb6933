"""`cloud dns zone ...` and `cloud dns record ...`: zones and records the platform's DNS
server answers (`dig @<server> name`, the zone's `server` says where)."""

from __future__ import annotations

from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import All, Limit, Offset, show_list, state
from thecloud.entrypoints.cli.output import message

app = typer.Typer(help="DNS zones and records.", no_args_is_help=True)
zone_app = typer.Typer(help="DNS zones: public, or private to a VPC.", no_args_is_help=True)
record_app = typer.Typer(help="Records of a DNS zone.", no_args_is_help=True)
app.add_typer(zone_app, name="zone")
app.add_typer(record_app, name="record")

ZoneArg = Annotated[str, typer.Argument(help="Zone id or name.")]
RecordArg = Annotated[str, typer.Argument(help="Record id.")]
Ttl = Annotated[
    int | None, typer.Option("--ttl", help="Seconds, clamped to 60-86400; for the whole set.")
]
Priority = Annotated[int | None, typer.Option("--priority", help="MX and SRV only: 0-65535.")]


@zone_app.command("create")
def zone_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The zone's name, e.g. corp.internal.")],
    vpc: Annotated[
        str | None,
        typer.Option("--vpc", help="VPC id or name: a private zone where its instances answer."),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="What the zone is for.")
    ] = None,
) -> None:
    """Create a zone (public unless --vpc). Names are unique on the platform."""
    zone = state(ctx).client().dns.create_zone(name, description=description, vpc_id=vpc)
    state(ctx).show(zone, "dns_zone")


@zone_app.command("list")
def zone_list(
    ctx: typer.Context,
    vpc: Annotated[str | None, typer.Option("--vpc", help="Only this VPC's (id).")] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's zones."""
    dns = state(ctx).client().dns
    show_list(
        ctx,
        "dns_zone",
        lambda: dns.list_zones(vpc_id=vpc, limit=limit, offset=offset),
        lambda: dns.iterate_zones(vpc_id=vpc),
        all_pages,
    )


@zone_app.command("get")
def zone_get(ctx: typer.Context, zone: ZoneArg) -> None:
    """One zone, with the server that answers for it."""
    state(ctx).show(state(ctx).client().dns.get_zone(zone))


@zone_app.command("delete")
def zone_delete(ctx: typer.Context, zone: ZoneArg) -> None:
    """Delete a zone with all its records."""
    state(ctx).client().dns.delete_zone(zone)
    message(f"Deleted DNS zone {zone}.")


@record_app.command("create")
def record_create(
    ctx: typer.Context,
    zone: ZoneArg,
    name: Annotated[str, typer.Argument(help="Relative (www, @ for the apex) or absolute.")],
    type: Annotated[str, typer.Argument(help="A, AAAA, CNAME, MX, TXT or SRV.")],
    content: Annotated[
        str, typer.Argument(help="Address, host name, text, or 'weight port target' (SRV).")
    ],
    ttl: Ttl = None,
    priority: Priority = None,
) -> None:
    """Add a record; it answers at once."""
    dns = state(ctx).client().dns
    record = dns.create_record(zone, name, type, content, ttl=ttl, priority=priority)
    state(ctx).show(record, "dns_record")


@record_app.command("list")
def record_list(
    ctx: typer.Context,
    zone: ZoneArg,
    name: Annotated[str | None, typer.Option(help="Only records of this name.")] = None,
    type: Annotated[str | None, typer.Option("--type", help="Only records of this type.")] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """A zone's records (MANAGED: registered for an instance)."""
    dns = state(ctx).client().dns
    show_list(
        ctx,
        "dns_record",
        lambda: dns.list_records(zone, name=name, type=type, limit=limit, offset=offset),
        lambda: dns.iterate_records(zone, name=name, type=type),
        all_pages,
    )


@record_app.command("get")
def record_get(ctx: typer.Context, record: RecordArg) -> None:
    """One record."""
    state(ctx).show(state(ctx).client().dns.get_record(record))


@record_app.command("update")
def record_update(
    ctx: typer.Context,
    record: RecordArg,
    content: Annotated[str | None, typer.Option(help="The new content.")] = None,
    ttl: Ttl = None,
    priority: Priority = None,
) -> None:
    """Change a record's content, priority or TTL; it answers at once."""
    if content is None and ttl is None and priority is None:
        raise typer.BadParameter("give --content, --ttl or --priority")
    dns = state(ctx).client().dns
    updated = dns.update_record(record, content=content, ttl=ttl, priority=priority)
    state(ctx).show(updated, "dns_record")


@record_app.command("delete")
def record_delete(ctx: typer.Context, record: RecordArg) -> None:
    """Delete a record."""
    state(ctx).client().dns.delete_record(record)
    message(f"Deleted DNS record {record}.")
