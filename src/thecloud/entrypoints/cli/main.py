"""The `cloud` command: global options, clean API errors, and one sub-command group per resource."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer import _click
from typer.core import TyperGroup

from thecloud.entrypoints.cli import (
    activity,
    auth,
    deployments,
    dns,
    gateways,
    iam,
    images,
    instance_ops,
    instances,
    keys,
    network,
    quotas,
    rbac,
    secrets,
    ssh_keys,
    storage,
    tenants,
    volumes,
)
from thecloud.entrypoints.cli.config import ConfigError
from thecloud.entrypoints.cli.context import make_state
from thecloud.entrypoints.cli.output import Output
from thecloud.sdk import CloudAPIError

_VALUED = ("-o", "--output", "--api-url", "--api-key", "--tenant")
_JOINED = tuple(f"{o}=" for o in _VALUED if o.startswith("--"))


def _width(arg: str) -> int:
    """How many words a global option takes here: 2 (`-o json`), 1 (`-ojson`), 0 (not one)."""
    if arg in _VALUED:
        return 2
    joined = arg.startswith(_JOINED) or (arg.startswith("-o") and not arg.startswith("--"))
    return 1 if joined else 0


def hoist_globals(args: list[str]) -> list[str]:
    """Move global options given after a sub-command to the front: `cloud x list -o json`."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        if args[i] == "--":
            rest.extend(args[i:])
            break
        width = _width(args[i])
        (front if width else rest).extend(args[i : i + max(width, 1)])
        i += max(width, 1)
    return front + rest


def error_line(exc: CloudAPIError) -> str:
    """`Error [CODE]: message (request id ...)`."""
    rid = f" (request id {exc.request_id})" if exc.request_id else ""
    return f"Error [{exc.code}]: {exc.message}{rid}"


class CloudGroup(TyperGroup):
    """The root group: global options anywhere on the line; API errors as one line, exit 1."""

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_globals(args))

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CloudAPIError as exc:
            typer.echo(error_line(exc), err=True)
            raise typer.Exit(1) from None
        except ConfigError as exc:
            typer.echo(f"Error [CONFIG]: {exc}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=CloudGroup,
    name="cloud",
    help="The Cloud's command line: identities, tenants, access, secrets and compute.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    output: Annotated[
        Output, typer.Option("--output", "-o", help="Output format.", case_sensitive=False)
    ] = Output.table,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", envvar="CLOUD_API_URL", help="API base URL.", show_default=False),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="CLOUD_API_KEY", help="API key.", show_default=False),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", envvar="CLOUD_TENANT_ID", help="Tenant id to act in."),
    ] = None,
) -> None:
    """Settings come from flags, then CLOUD_* env vars, then ~/.cloud/config.json."""
    try:
        ctx.obj = make_state(output, api_url, api_key, tenant)
        ctx.call_on_close(ctx.obj.close)
    except ConfigError as exc:
        typer.echo(f"Error [CONFIG]: {exc}", err=True)
        raise typer.Exit(1) from None


app.add_typer(auth.app, name="auth")
app.add_typer(keys.app, name="keys")
app.add_typer(tenants.app, name="tenant")
app.add_typer(quotas.app, name="quotas")
app.add_typer(rbac.app, name="rbac")
app.add_typer(iam.app, name="iam")
app.add_typer(secrets.app, name="secret")
instances.app.add_typer(instance_ops.app)  # pause, resize, tags, exec, stats, console, ...
app.add_typer(instances.app, name="instance")
app.add_typer(images.image_app, name="image")
app.add_typer(images.type_app, name="instance-type")
app.add_typer(ssh_keys.app, name="ssh-key")
app.add_typer(deployments.app, name="deployment")
app.add_typer(dns.app, name="dns")
app.add_typer(network.vpc_app, name="vpc")
app.add_typer(network.subnet_app, name="subnet")
app.add_typer(network.group_app, name="security-group")
app.add_typer(network.peering_app, name="peering")
app.add_typer(gateways.eip_app, name="eip")
app.add_typer(gateways.igw_app, name="igw")
app.add_typer(gateways.nat_app, name="nat")
app.add_typer(gateways.table_app, name="route-table")
app.add_typer(volumes.volume_app, name="volume")
app.add_typer(volumes.snapshot_app, name="snapshot")
app.add_typer(storage.app, name="storage")
app.add_typer(activity.audit_app, name="audit")
app.add_typer(activity.events_app, name="events")

if __name__ == "__main__":
    app()
