"""What every command shares: settings (flag > env > config > default) and the SDK client."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from thecloud.entrypoints.cli.config import config_path, load_config, update_config
from thecloud.entrypoints.cli.output import Output, render, render_page
from thecloud.sdk import JSON, Client, Page

DEFAULT_API_URL = "http://localhost:8080"
ClientFactory = Callable[..., Client]
make_client: ClientFactory = Client  # the one place a CLI run gets an SDK client (tests swap it)

Limit = Annotated[int | None, typer.Option("--limit", min=1, max=1000, help="Page size.")]
Offset = Annotated[int | None, typer.Option("--offset", min=0, help="Items to skip.")]
All = Annotated[bool, typer.Option("--all", help="Every page, not just one.")]


@dataclass
class State:
    """Settings of one CLI run; `given_*` are from flags or env, the rest resolved."""

    output: Output
    path: Path
    config: dict[str, Any]
    given_url: str | None = None
    given_key: str | None = None
    given_tenant: str | None = None
    _client: Client | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return self.given_url or self.config.get("api_url") or DEFAULT_API_URL

    @property
    def api_key(self) -> str | None:
        return self.given_key or self.config.get("api_key")

    @property
    def tenant(self) -> str | None:
        return self.given_tenant or self.config.get("tenant_id")

    def client(self) -> Client:
        """The SDK client with the resolved URL, key and tenant."""
        if self._client is None:
            self._client = make_client(self.api_url, api_key=self.api_key, tenant_id=self.tenant)
        return self._client

    def new_client(self, *, token: str | None = None, tenant_id: str | None = None) -> Client:
        """A client without the saved key: anonymous, or with a bearer token."""
        return make_client(self.api_url, token=token, tenant_id=tenant_id)

    def close(self) -> None:
        """Close the client's connections, if one was made."""
        if self._client is not None:
            self._client.close()

    def save(self, **changes: str | None) -> None:
        """Change and save the config file (mode 0600)."""
        self.config = update_config(self.path, **changes)

    def show(self, data: Any, kind: str = "") -> None:
        render(data, self.output, kind)

    def show_page(self, page: Page, kind: str) -> None:
        end = page.offset + len(page.items)
        footer = f"{page.offset + 1}-{end} of {page.total}" if page.has_more else ""
        render_page(page.items, self.output, kind, footer)


def make_state(output: Output, url: str | None, key: str | None, tenant: str | None) -> State:
    path = config_path()
    return State(output, path, load_config(path), url, key, tenant)


def state(ctx: typer.Context) -> State:
    """The run's State, set by the root callback."""
    found = ctx.find_root().obj
    if not isinstance(found, State):
        raise RuntimeError("the CLI's root callback did not run")
    return found


def show_list(
    ctx: typer.Context,
    kind: str,
    page: Callable[[], Page],
    every: Callable[[], Iterable[JSON]],
    all_pages: bool,
) -> None:
    """Print one page of a list, or every item with --all."""
    st = state(ctx)
    if all_pages:
        st.show(list(every()), kind)
    else:
        st.show_page(page(), kind)


def show_row(st: State, item: JSON, kind: str, row: Callable[[JSON], JSON] | None = None) -> None:
    """One object as a row of its list's columns, or the whole object as JSON/YAML."""
    if st.output is not Output.table:
        return st.show(item)
    st.show([row(item) if row else item], kind)


def show_rows(
    ctx: typer.Context,
    kind: str,
    page: Callable[[], Page],
    every: Callable[[], Iterable[JSON]],
    all_pages: bool,
    row: Callable[[JSON], JSON],
) -> None:
    """`show_list`, with each item turned into its table row (JSON/YAML stay whole)."""
    if state(ctx).output is not Output.table:
        return show_list(ctx, kind, page, every, all_pages)

    def rows() -> Page:
        first = page()
        return replace(first, items=[row(i) for i in first.items])

    show_list(ctx, kind, rows, lambda: (row(i) for i in every()), all_pages)
