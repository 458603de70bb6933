"""`cloud iam`: policies (create from a file, attach, detach) and service accounts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from thecloud.entrypoints.cli.context import All, Limit, Offset, show_list, state
from thecloud.entrypoints.cli.output import Output, message
from thecloud.sdk.resources.iam import PrincipalKind

app = typer.Typer(help="IAM policies and service accounts.", no_args_is_help=True)
policy_app = typer.Typer(help="Policy documents and their attachments.", no_args_is_help=True)
sa_app = typer.Typer(help="Service accounts and their client secrets.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(sa_app, name="sa")

PolicyArg = Annotated[str, typer.Argument(help="Policy id or name.")]
SaArg = Annotated[str, typer.Argument(help="Service account id.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="User id.")]
SaOpt = Annotated[str | None, typer.Option("--service-account", help="Service account id.")]


def read_policy_file(path: Path) -> dict[str, Any]:
    """`document` or `statements` from a JSON file: a list, {"statements": ...}, or AWS style."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="--file") from exc
    if isinstance(data, list):
        return {"statements": data}
    if isinstance(data, dict) and "statements" in data:
        return {"statements": data["statements"]}
    if isinstance(data, dict):
        return {"document": data}
    raise typer.BadParameter("a policy file holds a JSON object or list", param_hint="--file")


def principal(user: str | None, sa: str | None) -> tuple[PrincipalKind, str]:
    """Exactly one of --user / --service-account."""
    if (user is None) == (sa is None):
        raise typer.BadParameter("give exactly one of --user or --service-account")
    return ("user", user) if user is not None else ("service_account", str(sa))


@policy_app.command("create")
def create_policy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The policy's name.")],
    file: Annotated[
        Path, typer.Option("--file", "-f", exists=True, dir_okay=False, help="Policy JSON.")
    ],
    description: Annotated[str, typer.Option(help="What the policy is for.")] = "",
) -> None:
    """A policy from a JSON file (AWS style Version/Statement, or a list of statements)."""
    iam = state(ctx).client().iam
    state(ctx).show(iam.create_policy(name, description=description, **read_policy_file(file)))


@policy_app.command("list")
def list_policies(
    ctx: typer.Context, limit: Limit = None, offset: Offset = None, all_pages: All = False
) -> None:
    """The tenant's policies."""
    iam = state(ctx).client().iam
    page = iam.list_policies
    show_list(
        ctx, "policy", lambda: page(limit=limit, offset=offset), iam.iterate_policies, all_pages
    )


@policy_app.command("get")
def get_policy(ctx: typer.Context, policy: PolicyArg) -> None:
    """A policy with its document."""
    state(ctx).show(state(ctx).client().iam.get_policy(policy))


@policy_app.command("delete")
def delete_policy(ctx: typer.Context, policy: PolicyArg) -> None:
    """Delete a policy and all its attachments."""
    state(ctx).client().iam.delete_policy(policy)
    message(f"Deleted policy {policy}.")


@policy_app.command("attach")
def attach(ctx: typer.Context, policy: PolicyArg, user: UserOpt = None, sa: SaOpt = None) -> None:
    """Attach a policy to a user or a service account."""
    kind, ident = principal(user, sa)
    state(ctx).show(state(ctx).client().iam.attach(kind, ident, policy), "attachment")


@policy_app.command("detach")
def detach(ctx: typer.Context, policy: PolicyArg, user: UserOpt = None, sa: SaOpt = None) -> None:
    """Detach a policy from a user or a service account."""
    kind, ident = principal(user, sa)
    state(ctx).client().iam.detach(kind, ident, policy)
    message(f"Detached policy {policy} from {ident}.")


@sa_app.command("create")
def create_sa(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The service account's name.")],
    role: Annotated[str, typer.Option(help="Role it acts with.")] = "viewer",
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """A service account; its client secret is shown only now."""
    state(ctx).show(state(ctx).client().service_accounts.create(name, role, description))
    message("Store the client secret now: it cannot be shown again.")


@sa_app.command("list")
def list_sas(
    ctx: typer.Context, limit: Limit = None, offset: Offset = None, all_pages: All = False
) -> None:
    """The tenant's service accounts."""
    sas = state(ctx).client().service_accounts
    page = sas.list
    show_list(
        ctx, "service_account", lambda: page(limit=limit, offset=offset), sas.iterate, all_pages
    )


@sa_app.command("get")
def get_sa(ctx: typer.Context, sa_id: SaArg) -> None:
    """One service account."""
    state(ctx).show(state(ctx).client().service_accounts.get(sa_id))


@sa_app.command("delete")
def delete_sa(ctx: typer.Context, sa_id: SaArg) -> None:
    """Delete a service account; its tokens stop working at once."""
    state(ctx).client().service_accounts.delete(sa_id)
    message(f"Deleted service account {sa_id}.")


@sa_app.command("secrets")
def sa_secrets(ctx: typer.Context, sa_id: SaArg) -> None:
    """Its client secrets (metadata only)."""
    state(ctx).show(state(ctx).client().service_accounts.secrets(sa_id), "sa_secret")


@sa_app.command("rotate-secret")
def rotate_secret(ctx: typer.Context, sa_id: SaArg) -> None:
    """A new client secret (shown once); the previous ones are revoked."""
    state(ctx).show(state(ctx).client().service_accounts.rotate_secret(sa_id))


@sa_app.command("revoke-secret")
def revoke_secret(
    ctx: typer.Context,
    sa_id: SaArg,
    secret_id: Annotated[str, typer.Argument(help="The client secret's id.")],
) -> None:
    """Revoke one client secret."""
    state(ctx).client().service_accounts.revoke_secret(sa_id, secret_id)
    message(f"Revoked client secret {secret_id}.")


@sa_app.command("token")
def token(
    ctx: typer.Context,
    client_id: Annotated[str, typer.Option("--client-id", help="The service account's id.")],
    client_secret: Annotated[
        str, typer.Option("--client-secret", envvar="CLOUD_CLIENT_SECRET", help="Its secret.")
    ],
) -> None:
    """An OAuth2 access token for a service account (client credentials)."""
    st = state(ctx)
    with st.new_client() as anonymous:
        issued = anonymous.service_accounts.token(client_id, client_secret)
    st.show(issued if st.output is not Output.table else issued["access_token"])
