"""`cloud storage`: buckets and objects (the same ones the S3 endpoint serves), copies with a
progress bar, versions, presigned URLs, lifecycle rules and S3 access keys.

Objects are named `s3://BUCKET/KEY` (`cp` needs the prefix to tell them from local paths;
the other commands also take a bare `BUCKET/KEY`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from thecloud.entrypoints.cli.context import All, Limit, Offset, State, show_row, show_rows, state
from thecloud.entrypoints.cli.instances import Pairs, pairs
from thecloud.entrypoints.cli.output import Output, message
from thecloud.entrypoints.cli.storage_keys import credentials_app, lifecycle_app
from thecloud.sdk import JSON

app = typer.Typer(
    help="Object storage: buckets and objects (s3://BUCKET/KEY), also served over S3.",
    no_args_is_help=True,
)
app.add_typer(lifecycle_app, name="lifecycle")
app.add_typer(credentials_app, name="credentials")

SCHEME = "s3://"
BucketArg = Annotated[str, typer.Argument(help="Bucket name.")]
ObjectArg = Annotated[str, typer.Argument(help="s3://BUCKET/KEY (or BUCKET/KEY).")]
VersionOpt = Annotated[str | None, typer.Option("--version-id", help="A version, not the latest.")]


def split(target: str, *, key_required: bool = True) -> tuple[str, str]:
    """`s3://bucket/key` or `bucket/key` as (bucket, key)."""
    bucket, _, key = target.removeprefix(SCHEME).partition("/")
    if not bucket or (key_required and not key):
        raise typer.BadParameter(f"{target!r} is not s3://BUCKET/KEY")
    return bucket, key


def bucket_row(b: JSON) -> JSON:
    return {k: b.get(k) for k in ("name", "region", "versioning", "public_read", "created_at")}


def object_row(item: JSON) -> JSON:
    if "prefix" in item:
        return {"key": item["prefix"], "size": "PRE", "last_modified": None, "etag": None}
    return {k: item.get(k) for k in ("key", "size", "last_modified", "etag")}


def version_row(v: JSON) -> JSON:
    fields = ("version_id", "is_latest", "delete_marker", "size", "last_modified", "etag")
    return {k: v.get(k) for k in fields}


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A bar of the bytes moved, on stderr; yields the callback that advances it."""
    columns = (
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


def show_all(st: State, items: list[JSON], row: Callable[[JSON], JSON]) -> None:
    """Items whole as JSON/YAML, or as table rows."""
    st.show(items if st.output is not Output.table else [row(i) for i in items])


def show_object(st: State, item: JSON, text: str) -> None:
    if st.output is Output.table:
        message(text)
    else:
        st.show(item)


# --- buckets ----------------------------------------------------------------------------------


@app.command("mb")
def make_bucket(
    ctx: typer.Context,
    bucket: BucketArg,
    versioning: Annotated[bool, typer.Option("--versioning", help="Keep every version.")] = False,
    public: Annotated[bool, typer.Option("--public", help="Anyone may read and list it.")] = False,
    region: Annotated[str | None, typer.Option(help="Default us-east-1.")] = None,
) -> None:
    """Make a bucket (names are global: 3-63 of a-z 0-9 . -).

    `cloud storage mb photos --versioning`"""
    st = state(ctx)
    made = st.client().buckets.create(bucket, region=region, versioning=versioning,
                                      public_read=public)  # fmt: skip
    show_row(st, made, "bucket", bucket_row)


@app.command("rb")
def remove_bucket(ctx: typer.Context, bucket: BucketArg) -> None:
    """Remove an empty bucket."""
    state(ctx).client().buckets.delete(bucket.removeprefix(SCHEME).rstrip("/"))
    message(f"Removed bucket {bucket}.")


@app.command("ls")
def list_storage(
    ctx: typer.Context,
    target: Annotated[
        str | None, typer.Argument(help="s3://BUCKET[/PREFIX]; none: buckets.")
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Every key under the prefix, no folders.")
    ] = False,
    limit: Limit = None,
    offset: Offset = None,
    all_pages: All = False,
) -> None:
    """The tenant's buckets, or the objects (and PRE folders) under s3://BUCKET/PREFIX, every
    page of them (--limit: at most that many).

    `cloud storage ls s3://photos/2024/`"""
    st = state(ctx)
    if target is None:
        buckets = st.client().buckets
        page = lambda: buckets.list(limit=limit, offset=offset)  # noqa: E731
        return show_rows(ctx, "bucket", page, buckets.iterate, all_pages, bucket_row)
    bucket, prefix = split(target, key_required=False)
    found = st.client().objects.iterate(
        bucket, prefix=prefix or None, delimiter=None if recursive else "/"
    )
    start = offset or 0
    show_all(st, list(islice(found, start, start + limit if limit else None)), object_row)


# --- objects ----------------------------------------------------------------------------------


def upload(
    st: State, src: Path, dst: str, content_type: str | None, meta: Pairs, tags: Pairs
) -> None:
    if not src.is_file():
        raise typer.BadParameter(f"{src} is not a file", param_hint="SRC")
    bucket, key = split(dst, key_required=False)
    key = key + src.name if not key or key.endswith("/") else key
    with progress_bar(src.name, src.stat().st_size) as advance:
        made = st.client().objects.upload_file(
            bucket, key, src, content_type=content_type, metadata=pairs(meta, "--meta"),
            on_progress=advance, tags=pairs(tags, "--tag"),
        )  # fmt: skip
    show_object(st, made, f"Uploaded {src} to s3://{bucket}/{key} ({made['size']} bytes).")


def download(st: State, src: str, dst: str, version_id: str | None) -> None:
    bucket, key = split(src)
    target = Path(dst) / Path(key).name if Path(dst).is_dir() or dst.endswith("/") else Path(dst)
    if not target.parent.is_dir():
        raise typer.BadParameter(f"no directory {target.parent}", param_hint="DST")
    objects = st.client().objects
    size = objects.head(bucket, key, version_id=version_id)["size"]
    with progress_bar(Path(key).name, size) as advance:
        got = objects.download(bucket, key, target, version_id=version_id, on_progress=advance)
    show_object(st, {**got, "key": key, "path": str(target)},
                f"Downloaded s3://{bucket}/{key} to {target} ({got['size']} bytes).")  # fmt: skip


@app.command("cp")
def copy(
    ctx: typer.Context,
    src: Annotated[str, typer.Argument(help="A local file or s3://BUCKET/KEY.")],
    dst: Annotated[str, typer.Argument(help="s3://BUCKET/KEY (or s3://BUCKET/), or a path.")],
    content_type: Annotated[
        str | None, typer.Option("--content-type", help="Default: guessed from the name.")
    ] = None,
    meta: Annotated[Pairs, typer.Option("--meta", help="key=value metadata. Repeatable.")] = None,
    version_id: VersionOpt = None,
    tag: Annotated[Pairs, typer.Option("--tag", help="key=value tag (upload). Repeatable.")] = None,
) -> None:
    """Upload a file to s3://BUCKET/KEY, or download one, with a progress bar (files over
    64 MiB go up in 16 MiB parts).

    `cloud storage cp photo.jpg s3://photos/2024/` · `cloud storage cp s3://photos/a.jpg .`"""
    st = state(ctx)
    if src.startswith(SCHEME) == dst.startswith(SCHEME):
        raise typer.BadParameter("copy between a local file and s3://BUCKET/KEY (one of each)")
    if dst.startswith(SCHEME):
        return upload(st, Path(src), dst, content_type, meta, tag)
    download(st, src, dst, version_id)


@app.command("rm")
def remove(ctx: typer.Context, target: ObjectArg, version_id: VersionOpt = None) -> None:
    """Delete an object (in a versioned bucket: a delete marker), or one version of it."""
    bucket, key = split(target)
    state(ctx).client().objects.delete(bucket, key, version_id=version_id)
    which = f" version {version_id}" if version_id else ""
    message(f"Deleted s3://{bucket}/{key}{which}.")


@app.command("versions")
def versions(ctx: typer.Context, target: ObjectArg) -> None:
    """Every version and delete marker of an object, newest first."""
    st = state(ctx)
    show_all(st, list(st.client().objects.iterate_versions(*split(target))), version_row)


def show_tags(st: State, tagged: JSON) -> None:
    if st.output is not Output.table:
        return st.show(tagged)
    st.show([{"key": k, "value": v} for k, v in tagged["tags"].items()], "tag")


@app.command("tags")
def tags(ctx: typer.Context, target: ObjectArg, version_id: VersionOpt = None) -> None:
    """The tags of an object (or of one version of it)."""
    st = state(ctx)
    bucket, key = split(target)
    show_tags(st, st.client().objects.tags(bucket, key, version_id=version_id))


@app.command("tag")
def tag(
    ctx: typer.Context,
    target: ObjectArg,
    pairs_: Annotated[list[str], typer.Argument(metavar="KEY=VALUE...", help="The new tags.")],
    version_id: VersionOpt = None,
) -> None:
    """Replace the tags of an object (at most 10); its data and version stay as they are.

    `cloud storage tag s3://photos/a.jpg project=apollo stage=raw`"""
    st = state(ctx)
    bucket, key = split(target)
    new = pairs(pairs_, "KEY=VALUE") or {}
    show_tags(st, st.client().objects.set_tags(bucket, key, new, version_id=version_id))


@app.command("untag")
def untag(ctx: typer.Context, target: ObjectArg, version_id: VersionOpt = None) -> None:
    """Remove every tag of an object (or of one version of it)."""
    bucket, key = split(target)
    state(ctx).client().objects.delete_tags(bucket, key, version_id=version_id)
    message(f"Removed the tags of s3://{bucket}/{key}.")


@app.command("versioning")
def set_versioning(
    ctx: typer.Context,
    bucket: BucketArg,
    mode: Annotated[str, typer.Argument(help="enable or suspend.")],
) -> None:
    """Enable a bucket's versioning, or suspend it (the versions kept stay)."""
    if mode not in ("enable", "suspend"):
        raise typer.BadParameter(f"{mode!r}: enable or suspend", param_hint="MODE")
    st = state(ctx)
    changed = st.client().buckets.set_versioning(bucket, mode == "enable")
    show_row(st, changed, "bucket", bucket_row)


@app.command("presign")
def presign(
    ctx: typer.Context,
    target: ObjectArg,
    expires: Annotated[
        int, typer.Option("--expires", min=1, max=604800, help="Seconds (at most 7 days).")
    ] = 3600,
    put: Annotated[bool, typer.Option("--put", help="A URL to upload with, not download.")] = False,
) -> None:
    """A URL that downloads (or with --put uploads) the object without credentials, as you.

    `curl -o a.jpg "$(cloud storage presign s3://photos/a.jpg)"`"""
    st = state(ctx)
    bucket, key = split(target)
    signed = st.client().objects.presign(
        bucket, key, method="PUT" if put else "GET", expires_in=expires
    )
    if st.output is Output.table:
        typer.echo(signed["url"])
        message(f"Valid until {signed['expires_at']}.")
    else:
        st.show(signed)


@app.command("status")
def status(ctx: typer.Context) -> None:
    """The storage cluster: its mode, nodes and the S3 endpoint's URL."""
    st = state(ctx)
    st.show(st.client().buckets.cluster_status())
