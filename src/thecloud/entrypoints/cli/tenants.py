"""`cloud tenant`: create, list and switch tenants; invite and list members."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import All, Limit, Offset, State, show_list, state
from thecloud.entrypoints.cli.output import message

app = typer.Typer(help="Tenants you belong to, and their members.", no_args_is_help=True)

TenantOpt = Annotated[
    str | None,
    typer.Option("--tenant-id", help="Tenant to act on (default: the current one)."),
]


def slugify(name: str) -> str:
    """A slug from a name: lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63] or "tenant"


def current_tenant(st: State, given: str | None) -> str:
    """The tenant id given, else the current one, else the caller's default tenant."""
    return given or st.tenant or str(st.client().auth.me()["tenant_id"])


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The tenant's name.")],
    slug: Annotated[
        str | None, typer.Option(help="URL-safe short name (default: from name).")
    ] = None,
) -> None:
    """A new tenant owned by you."""
    state(ctx).show(state(ctx).client().tenants.create(name, slug or slugify(name)), "tenant")


@app.command("list")
def list_(
    ctx: typer.Context, limit: Limit = None, offset: Offset = None, all_pages: All = False
) -> None:
    """The tenants you belong to."""
    tenants = state(ctx).client().tenants
    page = tenants.list
    show_list(ctx, "tenant", lambda: page(limit=limit, offset=offset), tenants.iterate, all_pages)


@app.command()
def switch(
    ctx: typer.Context, tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")]
) -> None:
    """Act in another tenant from now on (saved in the config file)."""
    st = state(ctx)
    tenant = st.client().tenants.switch(tenant_id)
    st.save(tenant_id=tenant["id"])
    message(f"Switched to tenant {tenant['name']} ({tenant['id']}).")


@app.command()
def invite(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="A registered user's email.")],
    role: Annotated[str, typer.Option(help="Role to give (e.g. developer, viewer).")] = "viewer",
    tenant_id: TenantOpt = None,
) -> None:
    """Give a registered user a role in the tenant."""
    st = state(ctx)
    st.show(st.client().tenants.invite(current_tenant(st, tenant_id), email, role), "binding")


@app.command()
def members(
    ctx: typer.Context,
    tenant_id: TenantOpt = None,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """Who holds which role in the tenant."""
    st = state(ctx)
    tid, tenants = current_tenant(st, tenant_id), st.client().tenants
    show_list(
        ctx,
        "binding",
        lambda: tenants.members(tid, limit=limit, offset=offset),
        lambda: tenants.iterate_members(tid),
        all_pages,
    )
