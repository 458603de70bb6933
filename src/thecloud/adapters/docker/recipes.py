"""The catalog of images the platform builds offline, as data: what goes in and how it runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LABEL_OS = "thecloud.os"
LABEL_VERSION = "thecloud.version"
SUITE = "bookworm"
MIRRORS = (
    "http://deb.debian.org/debian",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)


@dataclass(frozen=True, slots=True)
class Recipe:
    """One buildable image (its name a key of domain/compute.CATALOG, which describes it).
    `kind` is "busybox" (from busybox-static) or "debian" (mmdebstrap).

    `version_of` names the Debian package whose version the image reports (empty: the Debian
    release from /etc/debian_version); `files` are scripts put into the root filesystem.
    """

    name: str
    kind: str
    packages: tuple[str, ...] = ()
    version_of: str = ""
    cmd: tuple[str, ...] = ("/bin/sh",)
    env: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)
    hooks: tuple[str, ...] = ()  # shell commands run on the finished tree ("$1" is its root)

    @property
    def repository(self) -> str:
        return f"thecloud/{self.name.partition(':')[0]}"

    @property
    def os(self) -> str:
        return "busybox" if self.kind == "busybox" else "debian"

    def reference(self, version: str = "") -> str:
        """busybox is tagged with its version; the others with their catalog tag."""
        tag = version if self.kind == "busybox" else self.name.partition(":")[2]
        return f"{self.repository}:{tag or 'latest'}"


POSTGRES_ENTRYPOINT = r"""#!/bin/sh
# Initialises the data directory on first start (POSTGRES_PASSWORD, POSTGRES_USER), then runs
# PostgreSQL in the foreground, listening on every address with password authentication.
set -eu
bin=/usr/lib/postgresql/15/bin
data=${PGDATA:-/var/lib/postgresql/data}
mkdir -p "$data" /run/postgresql
chown postgres:postgres "$data" /run/postgresql
chmod 700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" > "$pwfile"
  chown postgres "$pwfile"
  runuser -u postgres -- "$bin/initdb" -D "$data" -U "${POSTGRES_USER:-postgres}" \
    --pwfile="$pwfile" --auth-local=peer --auth-host=scram-sha-256 -E UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$data/pg_hba.conf"
fi
exec runuser -u postgres -- "$bin/postgres" -D "$data" -c listen_addresses='*'
"""

MARIADB_ENTRYPOINT = r"""#!/bin/sh
# Runs MariaDB in the foreground on every address; sets the password of root (local and
# remote) from MARIADB_ROOT_PASSWORD at every start.
set -eu
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld /var/lib/mysql
if [ ! -d /var/lib/mysql/mysql ]; then
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
fi
secret=${MARIADB_ROOT_PASSWORD:?set MARIADB_ROOT_PASSWORD}
password=$(printf '%s' "$secret" | sed "s/[\\']/\\\\&/g")
init=$(mktemp)
cat > "$init" <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$password';
ALTER USER 'root'@'%' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
SQL
chown mysql "$init"
exec mariadbd --user=mysql --datadir=/var/lib/mysql --bind-address=0.0.0.0 --init-file="$init"
"""

REDIS_CMD = ("redis-server", "--protected-mode", "no")
_DEBIAN_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _debian(name: str, packages: tuple[str, ...], *cmd: str, **kw: Any) -> Recipe:
    version_of = packages[0] if packages else ""
    return Recipe(name, "debian", packages, version_of, cmd, (_DEBIAN_PATH,), **kw)


CATALOG: tuple[Recipe, ...] = (
    Recipe("busybox", "busybox"),
    _debian("debian:12", (), "/bin/bash"),
    _debian("python:3.11", ("python3",), "python3"),
    _debian("node:18", ("nodejs",), "node"),
    _debian("redis:7", ("redis-server",), *REDIS_CMD),
    _debian(
        "postgres:15",  # set POSTGRES_PASSWORD
        ("postgresql-15",),
        "/usr/local/bin/thecloud-postgres",
        files={"/usr/local/bin/thecloud-postgres": POSTGRES_ENTRYPOINT},
        hooks=('rm -rf "$1"/var/lib/postgresql/15 "$1"/etc/postgresql/15/main',),
    ),
    _debian(
        "mariadb:10.11",  # set MARIADB_ROOT_PASSWORD
        ("mariadb-server",),
        "/usr/local/bin/thecloud-mariadb",
        files={"/usr/local/bin/thecloud-mariadb": MARIADB_ENTRYPOINT},
    ),
    _debian(
        "nginx",
        ("nginx",),
        *("nginx", "-g", "daemon off;"),
        hooks=(
            'ln -sf /dev/stdout "$1"/var/log/nginx/access.log',
            'ln -sf /dev/stderr "$1"/var/log/nginx/error.log',
        ),
    ),
)
RECIPES: Mapping[str, Recipe] = {recipe.name: recipe for recipe in CATALOG}
