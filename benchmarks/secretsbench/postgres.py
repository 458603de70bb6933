"""A throwaway PostgreSQL cluster for the ``postgres`` rows, run as user ``postgres``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .model import BenchError, PgCluster
from .processes import free_port, log_tail
from .settings import HOST, PG_DB, PG_PASSWORD, PG_ROLE
from .tools import postgres_bindir


def as_postgres(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command as the ``postgres`` user (its own session, so Ctrl-C spares it)."""
    out = subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv],
        capture_output=True,
        text=True,
        start_new_session=True,
        check=False,
        timeout=120,
    )
    if check and out.returncode != 0:
        raise BenchError(f"{' '.join(argv[:2])} failed: {out.stderr.strip() or out.stdout}")
    return out


@contextmanager
def throwaway_postgres(workdir: Path) -> Iterator[PgCluster]:
    """Start a private PostgreSQL cluster; yield its URL and pid; stop and delete it after."""
    if os.geteuid() != 0:
        raise BenchError("the postgres backend needs root (to run PostgreSQL as 'postgres')")
    base = Path(tempfile.mkdtemp(prefix="pg-", dir=workdir))
    workdir.chmod(0o711)  # let 'postgres' traverse into its own directory
    shutil.chown(base, "postgres", "postgres")
    try:
        with running_cluster(postgres_bindir(), base, free_port()) as cluster:
            yield cluster
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def running_cluster(bindir: Path, base: Path, port: int) -> Iterator[PgCluster]:
    """initdb into ``base``/data, start on ``port``, create role and database; stop after."""
    data = base / "data"
    init_cluster(bindir, data)
    pg_ctl = str(bindir / "pg_ctl")
    try:
        options = f"-p {port} -k {base} -c listen_addresses={HOST}"
        start_cluster(pg_ctl, data, options, base / "postgres.log")
        create_bench_database(bindir, base, port)
        postmaster_pid = int((data / "postmaster.pid").read_text().split()[0])
        url = f"postgresql+asyncpg://{PG_ROLE}:{PG_PASSWORD}@{HOST}:{port}/{PG_DB}"
        yield PgCluster(url, postmaster_pid)
    finally:
        as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], check=False)


def start_cluster(pg_ctl: str, data: Path, options: str, logfile: Path) -> None:
    """pg_ctl start and wait; on failure, say why with the server's own log."""
    try:
        as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(logfile), "-w", "start"])
    except BenchError as exc:
        raise BenchError(f"{exc}\nPostgreSQL log:\n{log_tail(logfile)}") from exc


def init_cluster(bindir: Path, data: Path) -> None:
    """initdb: trust on the Unix socket (for setup), passwords over TCP (for the server)."""
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8"]
    as_postgres([*initdb, "--auth-local=trust", "--auth-host=scram-sha-256"])


def create_bench_database(bindir: Path, socket_dir: Path, port: int) -> None:
    """Create the benchmark role and database through the cluster's Unix socket."""
    psql = [str(bindir / "psql"), "-h", str(socket_dir), "-p", str(port), "-U", "postgres"]
    role_sql = f"CREATE ROLE {PG_ROLE} LOGIN PASSWORD '{PG_PASSWORD}'"
    as_postgres([*psql, "-v", "ON_ERROR_STOP=1", "-c", role_sql])
    as_postgres([*psql, "-v", "ON_ERROR_STOP=1", "-c", f"CREATE DATABASE {PG_DB} OWNER {PG_ROLE}"])
