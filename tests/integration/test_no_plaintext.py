"""No credential or secret value is stored in clear: real services, then every byte searched."""

from __future__ import annotations

import base64
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from thecloud.adapters.sql.engine import create_engine
from thecloud.adapters.sql.migrate import upgrade
from thecloud.adapters.sql.tables import metadata
from thecloud.bootstrap import Container, bootstrap
from thecloud.config import Settings
from thecloud.domain.common import RequestContext
from thecloud.domain.errors import Unauthorized

PG_TABLES = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
CTX = RequestContext(request_id="req-no-plaintext", source_ip="127.0.0.1")


@dataclass
class Plaintexts:
    email: str
    password: str
    wrong_password: str
    api_keys: list[str]
    client_secret: str
    secret_values: list[str]

    def forbidden(self) -> list[str]:
        """Every value that must never be at rest, plus the hidden part of each credential."""
        keys = self.api_keys + [self.client_secret]
        hidden = [k[13:] for k in self.api_keys] + [self.client_secret[10:]]
        return [self.password, self.wrong_password, *keys, *hidden, *self.secret_values]


def forms(value: str) -> list[bytes]:
    raw = value.encode()
    return [raw, raw.hex().encode(), base64.b64encode(raw), base64.urlsafe_b64encode(raw)]


async def drive_services(c: Container) -> Plaintexts:
    """Register, log in (once wrongly), make a key, a service account and a secret."""
    tag = os.urandom(4).hex()
    email, password, wrong = f"np-{tag}@example.com", f"pw-{tag}-Horse!", f"bad-{tag}-Pony?"
    reg = await c.auth.register(email, password, "Nora", CTX)
    await c.auth.login(email, password, CTX)
    try:
        await c.auth.login(email, wrong, CTX)
    except Unauthorized:
        pass
    p = await c.auth.authenticate(reg.api_key, None, None, CTX)
    _, extra_key = await c.api_keys.create(p, "ci")
    sa, issued = await c.service_accounts.create(p, "robot", "viewer")
    await c.service_accounts.token(sa.id, issued.client_secret)
    values = [f"s3cret-{tag}-first-Value", f"s3cret-{tag}-second-Value"]
    secret = await c.secrets.create(p, "db-password", values[0], "the db password")
    await c.secrets.update(p, secret.id, values[1], None)
    assert (await c.secrets.reveal(p, "db-password"))[1] == values[1]
    return Plaintexts(
        email, password, wrong, [reg.api_key, extra_key], issued.client_secret, values
    )


def cell_bytes(value: object) -> bytes:
    return bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()


Dump = tuple[set[str], bytes]


def sqlite_dump(url: str) -> Dump:
    """The table names, and every cell of every table plus the raw database files."""
    path = Path(str(make_url(url).database))
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [row for n in names for row in conn.execute(f'SELECT * FROM "{n}"')]  # noqa: S608
    finally:
        conn.close()
    files = [f.read_bytes() for f in path.parent.iterdir() if f.name.startswith(path.name)]
    return set(names), b"\n".join([cell_bytes(v) for row in rows for v in row] + files)


async def postgres_dump(url: str) -> Dump:
    """The table names, and every cell of every table, read through the engine."""
    engine = create_engine(url)
    cells: list[bytes] = []
    try:
        async with engine.connect() as conn:
            names = set((await conn.execute(text(PG_TABLES))).scalars().all())
            for name in names:
                rows = await conn.execute(text(f'SELECT * FROM "{name}"'))  # noqa: S608
                cells += [cell_bytes(v) for row in rows for v in row]
    finally:
        await engine.dispose()
    return names, b"\n".join(cells)


async def test_the_database_holds_no_plaintext_credentials_or_secrets(
    backend: str, database_url: str, tmp_path: Path
) -> None:
    await upgrade(database_url)
    settings = Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        master_key=os.urandom(32).hex(),
        bcrypt_rounds=4,
    )
    container = bootstrap(settings)
    try:
        await container.start()
        plain = await drive_services(container)
    finally:
        await container.close()
    names, dump = (
        sqlite_dump(database_url) if backend == "sqlite" else await postgres_dump(database_url)
    )
    assert names >= {*metadata.tables, "alembic_version"}
    assert all(seen.encode() in dump for seen in (plain.email, "db-password", CTX.request_id))
    leaks = [v for v in plain.forbidden() if any(form in dump for form in forms(v))]
    assert leaks == [], f"stored in clear: {leaks}"
