"""`cloud vpc`, `cloud subnet`, `cloud security-group`, `cloud peering`: private networks."""

from __future__ import annotations

from enum import StrEnum
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
from thecloud.entrypoints.cli.instances import Pairs, Timeout, Wait, pairs, spinner
from thecloud.entrypoints.cli.output import (
    Output,
    console,
    message,
    record_table,
    rows_table,
)
from thecloud.sdk import JSON, NotFoundError

vpc_app = typer.Typer(help="Private networks, isolated from each other.", no_args_is_help=True)
subnet_app = typer.Typer(help="Address ranges of a VPC.", no_args_is_help=True)
group_app = typer.Typer(help="Security groups: firewall rules of instances.", no_args_is_help=True)
peering_app = typer.Typer(help="Peerings: two VPCs that reach each other.", no_args_is_help=True)

VpcArg = Annotated[str, typer.Argument(help="VPC name or id.")]
SubnetArg = Annotated[str, typer.Argument(help="Subnet id.")]
GroupArg = Annotated[str, typer.Argument(help="Security group id (or name, if unique).")]
InstanceArg = Annotated[str, typer.Argument(help="Instance name or id.")]
PeeringArg = Annotated[str, typer.Argument(help="Peering id.")]
WAIT_SECONDS = 120.0


class Direction(StrEnum):
    ingress = "ingress"
    egress = "egress"


class Protocol(StrEnum):
    tcp = "tcp"
    udp = "udp"
    icmp = "icmp"
    all = "all"


class Action(StrEnum):
    allow = "allow"
    deny = "deny"


def parse_ports(text: str | None) -> tuple[int | None, int | None]:
    """`80` or `8000-8100` as (port_min, port_max); (None, None) when not given."""
    if text is None:
        return None, None
    low, sep, high = text.strip().partition("-")
    try:
        first = int(low)
        last = int(high) if sep else first
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a port or a range like 8000-8100") from None
    if not 1 <= first <= last <= 65535:
        raise typer.BadParameter(f"{text!r}: ports are 1-65535, the first not above the last")
    return first, last


# --- VPCs -------------------------------------------------------------------------------------


@vpc_app.command("create")
def vpc_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The VPC's name, unique in the tenant.")],
    cidr: Annotated[
        str | None,
        typer.Option(
            "--cidr",
            help="Private range, /16 to /28 (default 10.0.0.0/16, else the next free 10.N.0.0/16).",
        ),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    label: Annotated[Pairs, typer.Option("--label", "-l", help="key=value. Repeatable.")] = None,
) -> None:
    """Create a VPC (with its default security group); then add a subnet to it."""
    st = state(ctx)
    vpc = st.client().vpcs.create(
        name, cidr_block=cidr, description=description, labels=pairs(label, "--label")
    )
    show_row(st, vpc, "vpc")


@vpc_app.command("list")
def vpc_list(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Only the VPC of this name.")] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's VPCs."""
    vpcs = state(ctx).client().vpcs
    show_list(
        ctx,
        "vpc",
        lambda: vpcs.list(name=name, limit=limit, offset=offset),
        lambda: vpcs.iterate(name=name),
        all_pages,
    )


@vpc_app.command("get")
def vpc_get(ctx: typer.Context, vpc: VpcArg) -> None:
    """Everything about one VPC: its range, router address, bridge and labels."""
    state(ctx).show(state(ctx).client().vpcs.get(vpc))


@vpc_app.command("update")
def vpc_update(
    ctx: typer.Context,
    vpc: VpcArg,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    label: Annotated[
        Pairs, typer.Option("--label", "-l", help="key=value; replaces all labels. Repeatable.")
    ] = None,
) -> None:
    """Rename a VPC or change its description or labels (its range cannot change)."""
    labels = pairs(label, "--label")
    if name is None and description is None and labels is None:
        raise typer.BadParameter("give --name, --description or --label")
    st = state(ctx)
    updated = st.client().vpcs.update(vpc, name=name, description=description, labels=labels)
    show_row(st, updated, "vpc")


@vpc_app.command("delete")
def vpc_delete(
    ctx: typer.Context,
    vpc: VpcArg,
    force: Annotated[
        bool,
        typer.Option("--force", help="Also delete its peerings and terminate its instances."),
    ] = False,
    wait: Wait = False,
    timeout: Timeout = WAIT_SECONDS,
) -> None:
    """Delete a VPC with its subnets and security groups (refused while it has instances or
    peerings, unless --force)."""
    client = state(ctx).client()
    client.vpcs.delete(vpc, force=force)
    if force and wait:
        with spinner(f"{vpc}: DELETING") as changed:
            client.vpcs.wait_deleted(
                vpc, timeout=timeout, on_status=lambda v: changed(f"{vpc}: {v.get('status')}")
            )
    elif force:
        try:
            left = client.vpcs.get(vpc)
        except NotFoundError:
            left = None
        if left is not None:
            return message(
                f"VPC {vpc} is {left.get('status')}: its instances are being terminated, "
                "then it is removed (--wait waits for that)."
            )
    message(f"Deleted VPC {vpc}.")


# --- subnets ----------------------------------------------------------------------------------


@subnet_app.command("create")
def subnet_create(
    ctx: typer.Context,
    vpc: VpcArg,
    name: Annotated[str, typer.Argument(help="The subnet's name, unique in the VPC.")],
    cidr: Annotated[str, typer.Argument(help="A range inside the VPC's, e.g. 10.0.1.0/24.")],
    zone: Annotated[
        str | None, typer.Option("--zone", help="Availability zone (default zone-a).")
    ] = None,
) -> None:
    """Add a subnet to a VPC: `cloud subnet create my-vpc web 10.0.1.0/24`."""
    st = state(ctx)
    subnet = st.client().subnets.create(vpc, name, cidr, availability_zone=zone)
    show_row(st, subnet, "subnet")


@subnet_app.command("list")
def subnet_list(
    ctx: typer.Context,
    vpc: VpcArg,
    name: Annotated[str | None, typer.Option(help="Only the subnet of this name.")] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The subnets of a VPC."""
    subnets = state(ctx).client().subnets
    show_list(
        ctx,
        "subnet",
        lambda: subnets.list(vpc, name=name, limit=limit, offset=offset),
        lambda: subnets.iterate(vpc, name=name),
        all_pages,
    )


@subnet_app.command("get")
def subnet_get(ctx: typer.Context, subnet: SubnetArg) -> None:
    """One subnet."""
    state(ctx).show(state(ctx).client().subnets.get(subnet))


@subnet_app.command("delete")
def subnet_delete(ctx: typer.Context, subnet: SubnetArg) -> None:
    """Delete a subnet no live instance uses."""
    state(ctx).client().subnets.delete(subnet)
    message(f"Deleted subnet {subnet}.")


# --- security groups --------------------------------------------------------------------------


def group_row(group: JSON) -> JSON:
    """A group as a table row: how many rules and member instances it has."""
    return {
        **group,
        "rules": len(group.get("rules") or []),
        "instances": len(group.get("instance_ids") or []),
    }


def rule_row(rule: JSON, group: JSON | None = None) -> JSON:
    """A rule as a table row: its ports (`80`, `8000-8100`, `all`) and peer in words."""
    low, high, proto = rule.get("port_min"), rule.get("port_max"), rule.get("protocol")
    if proto not in ("tcp", "udp"):
        ports = "-"
    elif low is None:
        ports = "all"
    else:
        ports = str(low) if low == high else f"{low}-{high}"
    source = rule.get("source_group_id")
    if source is None:
        peer = str(rule.get("cidr"))
    elif group is not None and source == group.get("id"):
        peer = f"group {group.get('name')} (its members)"
    else:
        peer = f"group {source}"
    return {**rule, "ports": ports, "peer": peer}


@group_app.command("create")
def group_create(
    ctx: typer.Context,
    vpc: VpcArg,
    name: Annotated[str, typer.Argument(help="The group's name, unique in the VPC.")],
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
) -> None:
    """Create a security group in a VPC: everything out allowed, nothing in until a rule."""
    st = state(ctx)
    group = st.client().security_groups.create(vpc, name, description=description)
    show_row(st, group, "security_group", group_row)


@group_app.command("list")
def group_list(
    ctx: typer.Context,
    vpc: Annotated[str | None, typer.Option("--vpc", help="Only this VPC's (name or id).")] = None,
    name: Annotated[str | None, typer.Option(help="Only the groups of this name.")] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's security groups, with how many rules and members each has."""
    client = state(ctx).client()
    vpc_id = str(client.vpcs.get(vpc)["id"]) if vpc else None
    groups = client.security_groups
    show_rows(
        ctx,
        "security_group",
        lambda: groups.list(name=name, vpc_id=vpc_id, limit=limit, offset=offset),
        lambda: groups.iterate(name=name, vpc_id=vpc_id),
        all_pages,
        group_row,
    )


@group_app.command("get")
def group_get(ctx: typer.Context, group: GroupArg) -> None:
    """One security group: its fields, then its rules in evaluation order."""
    st = state(ctx)
    found = st.client().security_groups.get(group)
    if st.output is not Output.table:
        return st.show(found)
    rules = [rule_row(r, found) for r in found.get("rules") or []]
    out = console()
    out.print(record_table({k: v for k, v in found.items() if k != "rules"}))
    out.print()
    out.print(rows_table(rules, "security_rule") if rules else "(no rules: nothing in or out)")


@group_app.command("delete")
def group_delete(ctx: typer.Context, group: GroupArg) -> None:
    """Delete a group attached to no instance and named by no other group's rule."""
    state(ctx).client().security_groups.delete(group)
    message(f"Deleted security group {group}.")


@group_app.command("add-rule")
def group_add_rule(
    ctx: typer.Context,
    group: GroupArg,
    direction: Annotated[
        Direction, typer.Option("--direction", case_sensitive=False, help="Traffic in or out.")
    ] = Direction.ingress,
    protocol: Annotated[
        Protocol | None,
        typer.Option("--protocol", case_sensitive=False, help="Default tcp.", show_default=False),
    ] = None,
    port: Annotated[
        str | None,
        typer.Option("--port", help="tcp/udp port or range: 80, 8000-8100 (default all)."),
    ] = None,
    cidr: Annotated[
        str | None, typer.Option("--cidr", help="Peer range, e.g. 10.0.1.0/24 or 0.0.0.0/0.")
    ] = None,
    source_group: Annotated[
        str | None,
        typer.Option("--source-group", help="Peer group of the same VPC: its members' addresses."),
    ] = None,
    priority: Annotated[
        int | None, typer.Option("--priority", min=1, max=4096, help="Lower first (default 100).")
    ] = None,
    action: Annotated[
        Action | None,
        typer.Option("--action", case_sensitive=False, help="Default allow.", show_default=False),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
) -> None:
    """Add a rule (in force when this returns): give exactly one of --cidr or --source-group.

    `cloud security-group add-rule web --port 80 --cidr 10.0.1.0/24`"""
    port_min, port_max = parse_ports(port)
    st = state(ctx)
    rule = st.client().security_groups.add_rule(
        group,
        direction.value,
        protocol=protocol.value if protocol else None,
        port_min=port_min,
        port_max=port_max,
        cidr=cidr,
        source_group=source_group,
        priority=priority,
        action=action.value if action else None,
        description=description,
    )
    show_row(st, rule, "security_rule", rule_row)


@group_app.command("remove-rule")
def group_remove_rule(
    ctx: typer.Context,
    rule_id: Annotated[str, typer.Argument(help="Rule id (`cloud security-group get`).")],
) -> None:
    """Remove a rule (in force when this returns)."""
    state(ctx).client().security_groups.remove_rule(rule_id)
    message(f"Removed rule {rule_id}.")


@group_app.command("attach")
def group_attach(ctx: typer.Context, group: GroupArg, instance: InstanceArg) -> None:
    """Attach a group to an instance of its VPC (in force when this returns)."""
    st = state(ctx)
    show_row(st, st.client().security_groups.attach(group, instance), "security_group", group_row)


@group_app.command("detach")
def group_detach(ctx: typer.Context, group: GroupArg, instance: InstanceArg) -> None:
    """Detach a group from an instance (in force when this returns)."""
    st = state(ctx)
    show_row(st, st.client().security_groups.detach(group, instance), "security_group", group_row)


# --- peerings ---------------------------------------------------------------------------------


@peering_app.command("create")
def peering_create(
    ctx: typer.Context,
    requester: Annotated[str, typer.Argument(help="One VPC (name or id).")],
    accepter: Annotated[str, typer.Argument(help="The other VPC, whose range must not overlap.")],
) -> None:
    """Request a peering between two of the tenant's VPCs (PENDING_ACCEPTANCE)."""
    st = state(ctx)
    show_row(st, st.client().vpc_peerings.create(requester, accepter), "peering")


@peering_app.command("list")
def peering_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="Only this status: PENDING_ACCEPTANCE, ACTIVE, REJECTED.")
    ] = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's VPC peerings."""
    peerings, wanted = state(ctx).client().vpc_peerings, status.upper() if status else None
    show_list(
        ctx,
        "peering",
        lambda: peerings.list(status=wanted, limit=limit, offset=offset),
        lambda: peerings.iterate(status=wanted),
        all_pages,
    )


@peering_app.command("get")
def peering_get(ctx: typer.Context, peering: PeeringArg) -> None:
    """One peering."""
    state(ctx).show(state(ctx).client().vpc_peerings.get(peering))


@peering_app.command("accept")
def peering_accept(ctx: typer.Context, peering: PeeringArg) -> None:
    """Accept a pending peering: the VPCs reach each other when this returns."""
    st = state(ctx)
    show_row(st, st.client().vpc_peerings.accept(peering), "peering")


@peering_app.command("reject")
def peering_reject(ctx: typer.Context, peering: PeeringArg) -> None:
    """Reject a pending peering."""
    st = state(ctx)
    show_row(st, st.client().vpc_peerings.reject(peering), "peering")


@peering_app.command("delete")
def peering_delete(ctx: typer.Context, peering: PeeringArg) -> None:
    """Delete a peering: the VPCs are cut apart again when this returns."""
    state(ctx).client().vpc_peerings.delete(peering)
    message(f"Deleted peering {peering}.")
