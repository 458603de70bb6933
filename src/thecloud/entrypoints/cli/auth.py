"""`cloud auth`: register, log in (saves an API key for this machine), who am I, log out."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from thecloud.entrypoints.cli.context import state
from thecloud.entrypoints.cli.output import Output, message
from thecloud.sdk import Client, CloudAPIError, UnauthorizedError

app = typer.Typer(help="Register, log in and out, see who you are.", no_args_is_help=True)

Email = Annotated[str, typer.Option("--email", prompt=True, help="Your email address.")]


@app.command()
def register(
    ctx: typer.Context,
    email: Email,
    name: Annotated[str, typer.Option("--name", prompt=True, help="Your display name.")],
    password: Annotated[
        str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    ],
    save: Annotated[bool, typer.Option(help="Save the new API key in the config file.")] = True,
) -> None:
    """Create an account with a personal tenant; its first API key is saved for the CLI."""
    st = state(ctx)
    with st.new_client() as client:
        reg = client.auth.register(email, password, name)
    if save:
        st.save(api_url=st.api_url, api_key=reg["api_key"], tenant_id=reg["tenant"]["id"])
    if st.output is not Output.table:
        return st.show(reg)
    st.show({"user": reg["user"]["id"], "email": email, "tenant": reg["tenant"]["id"]})
    message(f"API key saved to {st.path}" if save else f"API key (shown once): {reg['api_key']}")


@app.command()
def login(
    ctx: typer.Context,
    email: Email,
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True)],
) -> None:
    """Log in and save a new API key named cli-<hostname> (and its tenant) in the config."""
    st = state(ctx)
    with st.new_client() as anonymous:
        token = anonymous.auth.login(email, password)["token"]
    with st.new_client(token=token, tenant_id=st.given_tenant) as client:
        key = client.keys.create(f"cli-{socket.gethostname()}")
    st.save(api_url=st.api_url, api_key=key["key"], tenant_id=key["tenant_id"])
    message(f"Logged in as {email} (tenant {key['tenant_id']}); key saved to {st.path}")


@app.command()
def whoami(ctx: typer.Context) -> None:
    """Who you are, in which tenant, with which permissions."""
    state(ctx).show(state(ctx).client().auth.me())


def _revoke_own_key(client: Client, raw_key: str) -> bool:
    for key in client.keys.iterate():
        if key["active"] and raw_key.startswith(key["prefix"]):
            client.keys.revoke(key["id"])
            return True
    return False


@app.command()
def logout(
    ctx: typer.Context,
    revoke: Annotated[bool, typer.Option(help="Also revoke the saved key on the server.")] = True,
) -> None:
    """Forget the saved API key (and revoke it on the server)."""
    st = state(ctx)
    raw = st.config.get("api_key")
    if not raw:
        return message("Not logged in.")
    if revoke:
        try:
            _revoke_own_key(st.client(), raw)
        except UnauthorizedError:
            pass  # already revoked or expired: forgetting it is all that is left
        except CloudAPIError as exc:
            message(f"Warning: could not revoke the key: {exc.message}")
    st.save(api_key=None)
    message("Logged out.")
