"""`cloud storage lifecycle` (expiry rules) and `cloud storage credentials` (S3 access keys)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from thecloud.entrypoints.cli.context import (
    All,
    Limit,
    Offset,
    State,
    show_list,
    show_row,
    show_rows,
    state,
)
from thecloud.entrypoints.cli.instances import pairs
from thecloud.entrypoints.cli.output import Output, message
from thecloud.sdk import JSON

lifecycle_app = typer.Typer(
    help="Lifecycle rules: expire objects, old versions or unfinished uploads after N days.",
    no_args_is_help=True,
)
credentials_app = typer.Typer(
    help="S3 access keys for boto3, the aws CLI and other S3 clients.", no_args_is_help=True
)

BucketArg = Annotated[str, typer.Argument(help="Bucket name.")]
CREDENTIAL_COLUMNS = ("access_key_id", "status", "description", "principal_type", "created_at")


def days(flag: str, text: str) -> Any:
    return typer.Option(flag, min=1, max=100_000, help=text)


def credential_row(c: JSON) -> JSON:
    return {k: c.get(k) for k in (*CREDENTIAL_COLUMNS, "id")}


def usage(key_id: str, secret: str, endpoint: str) -> str:
    """How to use a new key pair with the aws CLI and boto3."""
    return f"""Save the secret now: it is not shown again.

aws CLI:
  aws configure set aws_access_key_id {key_id} --profile thecloud
  aws configure set aws_secret_access_key {secret} --profile thecloud
  aws configure set region us-east-1 --profile thecloud
  aws --profile thecloud --endpoint-url {endpoint} s3 ls

boto3:
  import boto3
  s3 = boto3.client(
      "s3", endpoint_url="{endpoint}", region_name="us-east-1",
      aws_access_key_id="{key_id}", aws_secret_access_key="{secret}",
  )"""


# --- lifecycle ----------------------------------------------------------------------------------


@lifecycle_app.command("list")
def lifecycle_list(
    ctx: typer.Context, bucket: BucketArg, limit: Limit = None, offset: Offset = None,
    all_pages: All = False,
) -> None:  # fmt: skip
    """The bucket's lifecycle rules."""
    buckets = state(ctx).client().buckets
    page = lambda: buckets.lifecycle_rules(bucket, limit=limit, offset=offset)  # noqa: E731
    every = lambda: buckets.lifecycle_rules(bucket, limit=1000).items  # noqa: E731
    show_list(ctx, "lifecycle_rule", page, every, all_pages)


@lifecycle_app.command("add")
def lifecycle_add(
    ctx: typer.Context,
    bucket: BucketArg,
    prefix: Annotated[str, typer.Option(help="Only keys under it (default: all).")] = "",
    expire_days: Annotated[
        int | None, days("--expire-days", "Delete objects N days after they were written.")
    ] = None,
    noncurrent_days: Annotated[
        int | None,
        days("--noncurrent-days", "Delete old versions N days after they were replaced."),
    ] = None,
    abort_days: Annotated[
        int | None, days("--abort-days", "Abort unfinished multipart uploads after N days.")
    ] = None,
    rule_id: Annotated[str | None, typer.Option("--id", help="Default rule-<n>.")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="key=value: only objects with this tag. Repeatable."),
    ] = None,
) -> None:
    """Add a rule; the storage worker applies it (about hourly).

    `cloud storage lifecycle add logs --prefix tmp/ --expire-days 7 --tag scratch=yes`"""
    st = state(ctx)
    rule = st.client().buckets.add_lifecycle_rule(
        bucket, prefix=prefix, expiration_days=expire_days, noncurrent_days=noncurrent_days,
        abort_days=abort_days, rule_id=rule_id, enabled=not disabled,
        tags=pairs(tag, "--tag"),
    )  # fmt: skip
    show_row(st, rule, "lifecycle_rule")


@lifecycle_app.command("rm")
def lifecycle_rm(
    ctx: typer.Context, bucket: BucketArg, rule_id: Annotated[str, typer.Argument(help="Rule id.")]
) -> None:
    """Remove a lifecycle rule."""
    state(ctx).client().buckets.delete_lifecycle_rule(bucket, rule_id)
    message(f"Removed lifecycle rule {rule_id} of {bucket}.")


# --- credentials --------------------------------------------------------------------------------


@credentials_app.command("create")
def credentials_create(
    ctx: typer.Context,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    service_account: Annotated[
        str | None, typer.Option("--service-account", help="Issue it to this service account (id).")
    ] = None,
) -> None:
    """A new access key pair; prints the secret (once) and how to use it with the aws CLI and
    boto3 against the S3 endpoint."""
    st = state(ctx)
    client = st.client()
    made = client.storage_credentials.create(
        description=description, service_account_id=service_account
    )
    endpoint = str(client.buckets.cluster_status()["s3_endpoint"])
    show_credential(st, {**made, "s3_endpoint": endpoint})


def show_credential(st: State, made: JSON) -> None:
    if st.output is not Output.table:
        return st.show(made)
    st.show({k: made.get(k) for k in ("access_key_id", "secret_access_key", "s3_endpoint", "id")})
    message("\n" + usage(made["access_key_id"], made["secret_access_key"], made["s3_endpoint"]))


@credentials_app.command("list")
def credentials_list(
    ctx: typer.Context, limit: Limit = None, offset: Offset = None, all_pages: All = False
) -> None:
    """The tenant's access keys (never their secrets)."""
    creds = state(ctx).client().storage_credentials
    page = lambda: creds.list(limit=limit, offset=offset)  # noqa: E731
    show_rows(ctx, "storage_credential", page, creds.iterate, all_pages, credential_row)


@credentials_app.command("revoke")
def credentials_revoke(
    ctx: typer.Context, credential: Annotated[str, typer.Argument(help="Id or access key id.")]
) -> None:
    """Revoke an access key: requests signed with it fail at once."""
    st = state(ctx)
    show_row(st, st.client().storage_credentials.revoke(credential), "storage_credential",
             credential_row)  # fmt: skip
