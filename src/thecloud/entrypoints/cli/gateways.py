"""`cloud eip`, `cloud igw`, `cloud nat`, `cloud route-table`: the ways in and out of a VPC."""

from __future__ import annotations

from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import (
    All,
    Limit,
    Offset,
    show_list,
    show_row,
    show_rows,
    state,
)
from thecloud.entrypoints.cli.output import Output, console, message, record_table, rows_table
from thecloud.sdk import JSON

eip_app = typer.Typer(
    help="Elastic IPs: stable addresses NATed to an instance.", no_args_is_help=True
)
igw_app = typer.Typer(help="Internet gateways: a VPC's way to the world.", no_args_is_help=True)
nat_app = typer.Typer(
    help="NAT gateways: the world for private subnets, one way only.", no_args_is_help=True
)
table_app = typer.Typer(
    help="Route tables: where traffic leaving a VPC goes.", no_args_is_help=True
)

EipArg = Annotated[str, typer.Argument(help="Elastic IP id or address.")]
IgwArg = Annotated[str, typer.Argument(help="Internet gateway id or name.")]
NatArg = Annotated[str, typer.Argument(help="NAT gateway id.")]
TableArg = Annotated[str, typer.Argument(help="Route table id.")]
SubnetArg = Annotated[str, typer.Argument(help="Subnet id.")]
VpcArg = Annotated[str, typer.Argument(help="VPC name or id.")]
CidrArg = Annotated[str, typer.Argument(help="Destination range, e.g. 0.0.0.0/0.")]


# --- elastic IPs ------------------------------------------------------------------------------


@eip_app.command("allocate")
def eip_allocate(ctx: typer.Context) -> None:
    """Allocate the next free address of the platform's pool."""
    st = state(ctx)
    show_row(st, st.client().elastic_ips.allocate(), "elastic_ip")


@eip_app.command("list")
def eip_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="Only this status: ALLOCATED or ASSOCIATED.")
    ] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's elastic IPs."""
    eips, wanted = state(ctx).client().elastic_ips, status.upper() if status else None
    show_list(
        ctx,
        "elastic_ip",
        lambda: eips.list(status=wanted, limit=limit, offset=offset),
        lambda: eips.iterate(status=wanted),
        all_pages,
    )


@eip_app.command("get")
def eip_get(ctx: typer.Context, eip: EipArg) -> None:
    """One elastic IP."""
    state(ctx).show(state(ctx).client().elastic_ips.get(eip))


@eip_app.command("release")
def eip_release(ctx: typer.Context, eip: EipArg) -> None:
    """Give the address back to the pool (refused while associated or used by a NAT gateway)."""
    state(ctx).client().elastic_ips.release(eip)
    message(f"Released elastic IP {eip}.")


@eip_app.command("associate")
def eip_associate(
    ctx: typer.Context,
    eip: EipArg,
    instance: Annotated[str, typer.Argument(help="Instance name or id (in a VPC).")],
) -> None:
    """NAT the address to an instance in a VPC (one per instance); in force when this returns."""
    st = state(ctx)
    show_row(st, st.client().elastic_ips.associate(eip, instance), "elastic_ip")


@eip_app.command("disassociate")
def eip_disassociate(ctx: typer.Context, eip: EipArg) -> None:
    """Take the address off its instance (it stays allocated)."""
    st = state(ctx)
    show_row(st, st.client().elastic_ips.disassociate(eip), "elastic_ip")


# --- internet gateways ------------------------------------------------------------------------


def igw_row(igw: JSON) -> JSON:
    """A gateway as a table row: an unnamed one shows `-`, so the columns stay aligned."""
    return {**igw, "name": igw.get("name") or None}


@igw_app.command("create")
def igw_create(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="A name (optional).")] = None,
) -> None:
    """Create an internet gateway (DETACHED); then attach it to a VPC."""
    st = state(ctx)
    show_row(st, st.client().internet_gateways.create(name=name), "internet_gateway", igw_row)


@igw_app.command("list")
def igw_list(
    ctx: typer.Context, limit: Limit = None, offset: Offset = None, all_pages: All = False
) -> None:
    """The tenant's internet gateways."""
    igws = state(ctx).client().internet_gateways
    show_rows(
        ctx,
        "internet_gateway",
        lambda: igws.list(limit=limit, offset=offset),
        igws.iterate,
        all_pages,
        igw_row,
    )


@igw_app.command("get")
def igw_get(ctx: typer.Context, igw: IgwArg) -> None:
    """One internet gateway."""
    state(ctx).show(state(ctx).client().internet_gateways.get(igw))


@igw_app.command("delete")
def igw_delete(ctx: typer.Context, igw: IgwArg) -> None:
    """Delete a detached internet gateway no route names."""
    state(ctx).client().internet_gateways.delete(igw)
    message(f"Deleted internet gateway {igw}.")


@igw_app.command("attach")
def igw_attach(ctx: typer.Context, igw: IgwArg, vpc: VpcArg) -> None:
    """Attach to a VPC (one gateway per VPC); subnets reach the world once their route table
    routes to it."""
    st = state(ctx)
    show_row(st, st.client().internet_gateways.attach(igw, vpc), "internet_gateway", igw_row)


@igw_app.command("detach")
def igw_detach(
    ctx: typer.Context,
    igw: IgwArg,
    vpc: Annotated[
        str | None, typer.Option("--vpc", help="Only if attached to this VPC (name or id).")
    ] = None,
) -> None:
    """Detach from its VPC: routes to it stop carrying traffic when this returns."""
    st = state(ctx)
    detached = st.client().internet_gateways.detach(igw, vpc=vpc)
    show_row(st, detached, "internet_gateway", igw_row)


# --- NAT gateways -----------------------------------------------------------------------------


@nat_app.command("create")
def nat_create(
    ctx: typer.Context,
    subnet: Annotated[str, typer.Argument(help="The subnet (id) it lives in.")],
    eip: Annotated[str, typer.Argument(help="An unassociated elastic IP (id or address).")],
) -> None:
    """Create a NAT gateway; subnets whose route table routes to it leave from its address."""
    st = state(ctx)
    show_row(st, st.client().nat_gateways.create(subnet, eip), "nat_gateway")


@nat_app.command("list")
def nat_list(
    ctx: typer.Context, limit: Limit = None, offset: Offset = None, all_pages: All = False
) -> None:
    """The tenant's NAT gateways."""
    nats = state(ctx).client().nat_gateways
    show_list(
        ctx,
        "nat_gateway",
        lambda: nats.list(limit=limit, offset=offset),
        nats.iterate,
        all_pages,
    )


@nat_app.command("get")
def nat_get(ctx: typer.Context, nat: NatArg) -> None:
    """One NAT gateway."""
    state(ctx).show(state(ctx).client().nat_gateways.get(nat))


@nat_app.command("delete")
def nat_delete(ctx: typer.Context, nat: NatArg) -> None:
    """Delete a NAT gateway no route uses (its elastic IP stays allocated)."""
    state(ctx).client().nat_gateways.delete(nat)
    message(f"Deleted NAT gateway {nat}.")


# --- route tables -----------------------------------------------------------------------------


def table_row(table: JSON) -> JSON:
    """A route table as a table row: its routes as `destination->target type` each."""
    routes = [
        f"{r.get('destination_cidr')}->{r.get('target_type')}" for r in table.get("routes") or []
    ]
    return {**table, "routes": routes}


def show_table(table: JSON) -> None:
    """A route table in table form: its fields, then its routes, one row each."""
    out = console()
    out.print(record_table({k: v for k, v in table.items() if k != "routes"}))
    out.print()
    out.print(rows_table(table.get("routes") or [], "route"))


def show_route_table(ctx: typer.Context, table: JSON) -> None:
    st = state(ctx)
    if st.output is not Output.table:
        return st.show(table)
    show_table(table)


@table_app.command("create")
def table_create(
    ctx: typer.Context,
    vpc: VpcArg,
    name: Annotated[str, typer.Argument(help="The table's name, unique in the VPC.")],
    main: Annotated[
        bool,
        typer.Option("--main", help="Make it the table of every subnet without one of its own."),
    ] = False,
) -> None:
    """Create a route table in a VPC, with only the local route."""
    st = state(ctx)
    show_row(st, st.client().route_tables.create(vpc, name, is_main=main), "route_table", table_row)


@table_app.command("list")
def table_list(
    ctx: typer.Context,
    vpc: Annotated[str | None, typer.Option("--vpc", help="Only this VPC's (name or id).")] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's route tables, with their routes."""
    client = state(ctx).client()
    vpc_id = str(client.vpcs.get(vpc)["id"]) if vpc else None
    tables = client.route_tables
    show_rows(
        ctx,
        "route_table",
        lambda: tables.list(vpc_id=vpc_id, limit=limit, offset=offset),
        lambda: tables.iterate(vpc_id=vpc_id),
        all_pages,
        table_row,
    )


@table_app.command("get")
def table_get(ctx: typer.Context, table: TableArg) -> None:
    """One route table: its fields and subnets, then its routes."""
    show_route_table(ctx, state(ctx).client().route_tables.get(table))


@table_app.command("delete")
def table_delete(ctx: typer.Context, table: TableArg) -> None:
    """Delete a table that is not the main one and has no subnets."""
    state(ctx).client().route_tables.delete(table)
    message(f"Deleted route table {table}.")


@table_app.command("add-route")
def table_add_route(
    ctx: typer.Context,
    table: TableArg,
    cidr: CidrArg,
    igw: Annotated[
        str | None,
        typer.Option("--igw", help="To this internet gateway (id or name), attached to the VPC."),
    ] = None,
    nat: Annotated[
        str | None, typer.Option("--nat", help="To this NAT gateway (id) of the VPC.")
    ] = None,
) -> None:
    """Route a range outside the VPC to a gateway (in force when this returns): give exactly
    one of --igw or --nat.

    `cloud route-table add-route TABLE_ID 0.0.0.0/0 --igw gw`"""
    if (igw is None) == (nat is None):
        raise typer.BadParameter("give exactly one of --igw or --nat")
    changed = (
        state(ctx)
        .client()
        .route_tables.add_route(table, cidr, internet_gateway=igw, nat_gateway=nat)
    )
    show_route_table(ctx, changed)


@table_app.command("remove-route")
def table_remove_route(ctx: typer.Context, table: TableArg, cidr: CidrArg) -> None:
    """Remove the route to a destination (the local route stays); in force when this returns."""
    show_route_table(ctx, state(ctx).client().route_tables.remove_route(table, cidr))


@table_app.command("associate")
def table_associate(ctx: typer.Context, table: TableArg, subnet: SubnetArg) -> None:
    """Make this the subnet's table, instead of its current one or the VPC's main one."""
    show_route_table(ctx, state(ctx).client().route_tables.associate(table, subnet))
    message(f"Subnet {subnet} now uses route table {table}.")


@table_app.command("disassociate")
def table_disassociate(ctx: typer.Context, table: TableArg, subnet: SubnetArg) -> None:
    """The subnet goes back to its VPC's main table."""
    show_route_table(ctx, state(ctx).client().route_tables.disassociate(table, subnet))
    message(f"Subnet {subnet} now uses its VPC's main route table.")
