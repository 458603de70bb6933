"""`cloud rbac`: roles and their permissions, role bindings, the permission catalogue."""

from __future__ import annotations

from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import All, Limit, Offset, show_list, state
from thecloud.entrypoints.cli.output import Output, message

app = typer.Typer(help="Roles, permissions and role bindings.", no_args_is_help=True)
roles_app = typer.Typer(help="Built-in and custom roles.", no_args_is_help=True)
app.add_typer(roles_app, name="roles")

RoleArg = Annotated[str, typer.Argument(help="Role id or name.")]
PermArg = Annotated[str, typer.Argument(help="A permission, e.g. secret:read.")]
Perms = Annotated[
    list[str] | None, typer.Option("--permission", "-p", help="A permission (repeatable).")
]


@roles_app.command("list")
def list_roles(
    ctx: typer.Context, limit: Limit = None, offset: Offset = None, all_pages: All = False
) -> None:
    """Built-in roles and the tenant's custom roles."""
    rbac = state(ctx).client().rbac
    page = rbac.list_roles
    show_list(ctx, "role", lambda: page(limit=limit, offset=offset), rbac.iterate_roles, all_pages)


@roles_app.command("get")
def get_role(ctx: typer.Context, role: RoleArg) -> None:
    """A role with its permissions."""
    state(ctx).show(state(ctx).client().rbac.get_role(role))


@roles_app.command("create")
def create_role(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The role's name.")],
    permission: Perms = None,
    description: Annotated[str, typer.Option(help="What the role is for.")] = "",
) -> None:
    """A custom role of the current tenant."""
    role = state(ctx).client().rbac.create_role(name, permission or [], description)
    state(ctx).show(role)


@roles_app.command("update")
def update_role(
    ctx: typer.Context,
    role: RoleArg,
    permission: Perms = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
) -> None:
    """Change a custom role's description, or replace its permissions (-p ...)."""
    rbac = state(ctx).client().rbac
    state(ctx).show(rbac.update_role(role, description=description, permissions=permission))


@roles_app.command("delete")
def delete_role(ctx: typer.Context, role: RoleArg) -> None:
    """Delete an unbound custom role."""
    state(ctx).client().rbac.delete_role(role)
    message(f"Deleted role {role}.")


@roles_app.command("add-permission")
def add_permission(ctx: typer.Context, role: RoleArg, permission: PermArg) -> None:
    """Add one permission to a custom role."""
    state(ctx).show(state(ctx).client().rbac.add_permission(role, permission))


@roles_app.command("remove-permission")
def remove_permission(ctx: typer.Context, role: RoleArg, permission: PermArg) -> None:
    """Remove one permission from a custom role."""
    state(ctx).show(state(ctx).client().rbac.remove_permission(role, permission))


@app.command()
def bind(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="User id or email.")],
    role: Annotated[str, typer.Argument(help="Role name.")],
) -> None:
    """Give a user a role in the current tenant."""
    state(ctx).show(state(ctx).client().rbac.bind(user, role), "binding")


@app.command()
def bindings(
    ctx: typer.Context, limit: Limit = None, offset: Offset = None, all_pages: All = False
) -> None:
    """Role bindings of the current tenant."""
    rbac = state(ctx).client().rbac
    page = rbac.list_bindings
    show_list(
        ctx, "binding", lambda: page(limit=limit, offset=offset), rbac.iterate_bindings, all_pages
    )


@app.command()
def unbind(
    ctx: typer.Context, binding_id: Annotated[str, typer.Argument(help="The binding's id.")]
) -> None:
    """Remove a role binding."""
    state(ctx).client().rbac.unbind(binding_id)
    message(f"Removed binding {binding_id}.")


@app.command()
def permissions(ctx: typer.Context) -> None:
    """Every permission name, and what each built-in role holds."""
    st = state(ctx)
    catalogue = st.client().rbac.permissions()
    if st.output is not Output.table:
        return st.show(catalogue)
    st.show([{"permission": p} for p in catalogue["permissions"]], "permission")
