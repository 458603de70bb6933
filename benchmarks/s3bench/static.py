"""nginx serving the same files statically: the machine's ceiling. One worker process (as our
server is one process), sendfile on, access log off, keep-alive without a request limit,
listening on 127.0.0.1 only; a prefix of its own in the work directory."""

from __future__ import annotations

import os
from pathlib import Path

from secretsbench.model import BenchError, Target
from secretsbench.processes import free_port, http_server
from secretsbench.tools import ensure_apt_package

from .large import get_large, source_file
from .load import fixed_job, measure
from .memory import RssSampler
from .model import Config, Report
from .settings import CONCURRENCIES, HOST, MIB, NGINX, NGINX_GET
from .small import BODY_BYTES, check_get

CONF = """\
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen {host}:{port};
        root {prefix}/www;
    }}
}}
"""


def nginx_prefix(cfg: Config, port: int, large_source: Path | None) -> Path:
    """nginx's prefix: its config, the 4 KiB file and (a link to) the large one."""
    prefix = cfg.workdir / f"nginx-{port}"
    (prefix / "www").mkdir(parents=True)
    (prefix / "tmp").mkdir()
    (prefix / "www" / "get-4k").write_bytes(BODY_BYTES)
    if large_source is not None:
        (prefix / "www" / "large").symlink_to(large_source)
    user = "user root;" if os.geteuid() == 0 else ""  # the work dir is 0700
    conf = CONF.format(user=user, prefix=prefix, host=HOST, port=port)
    (prefix / "nginx.conf").write_text(conf)
    return prefix


def bench_nginx(cfg: Config, report: Report, large_mib: int | None) -> None:
    """GET the 4 KiB file at 1 and 16 connections; then the large file with the httpx client."""
    nginx = ensure_apt_package("nginx", "nginx")
    port = free_port()
    source = source_file(cfg, large_mib) if large_mib else None
    prefix = nginx_prefix(cfg, port, source)
    argv = [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e",
            str(prefix / "error.log"), "-g", "daemon off;"]  # fmt: skip
    url = f"http://{HOST}:{port}/get-4k"
    with http_server("nginx", argv, url, cfg.workdir) as pid, RssSampler((pid,)) as sampler:
        check_get(url, {})
        job = fixed_job(Target("GET", url, {}))
        for conc in CONCURRENCIES:
            measure(cfg, report, (NGINX, NGINX_GET, conc), job, (pid,))
        if source is not None and large_mib:
            if not (prefix / "www" / "large").exists():
                raise BenchError("nginx's link to the large file is missing")
            get_large(
                cfg,
                report,
                NGINX,
                f"http://{HOST}:{port}/large",
                (pid,),
                sampler,
                source,
                large_mib * MIB,
                note="sendfile",
            )
