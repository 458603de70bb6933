"""Secrets API throughput and latency: The Cloud vs moto, against a hello-world ceiling.

What is measured
----------------
Each row is one HTTP call hammered by ``wrk`` (one thread, N keep-alive connections,
closed loop: every connection sends its next request as soon as the previous answer
arrives) for ``--duration`` seconds after a 2 s warm-up that is thrown away:

* ``sqlite`` / ``postgres``: our server (``python -m thecloud.entrypoints.server`` with
  ``THECLOUD_WORKERS`` set to ``--workers``) on that database, with a freshly registered
  user owning exactly 100 secrets. ``list-secrets`` is ``GET /secrets?limit=100`` (100
  redacted items); ``get-secret-value`` is ``GET /secrets/{id}`` (one decrypted value).
  Both at 1 and 32 concurrent connections. PostgreSQL is a throwaway cluster started for the run.
* ``moto``: ``moto_server`` with the same 100 secrets, ``ListSecrets`` (MaxResults 100)
  and ``GetSecretValue`` sent as raw AWS JSON-protocol requests (moto does not check
  SigV4 signatures), at 1 and 32 connections.
* ``hello``: the cost of the HTTP stack alone at 32 connections: a plain FastAPI route,
  a plain Starlette route (``benchmarks/hello_app.py``, same uvicorn settings and worker
  count as ours), and our ``GET /health/live`` (our full middleware stack, no database).

``--workers 1,2`` runs the sqlite/postgres/hello rows once per worker count and prints
one table per count plus one combined summary; moto is measured once (``moto_server`` is
always one process) and shown in every table.

How to read it
--------------
``req/s`` is throughput; ``p50``/``p99`` are wrk's latency percentiles in ms;
``errors`` counts non-2xx answers plus socket errors (connect/read/write/timeout);
``wrk``/``srv``/``other`` say where the CPU went during the row, in cores (1.00 = one
core busy): the load generator (well under 1 means it was not the bottleneck), the
server's process tree, every worker included (plus the PostgreSQL cluster's; near 1.0
means a one-process server is CPU-bound) and everything else on the machine, which
should be ~0: rows where it is above 0.3 are marked ``!`` (other work competed; rerun
before trusting them).
The summary checks our calls against the targets: >= 10x moto's throughput for the same
call and concurrency, p99 <= 25 ms at 32 connections, and shows which fraction of the
FastAPI hello-world ceiling (same worker count) each of our calls reaches (1.0 would
mean our handler, auth, database and crypto cost nothing).

The machine has 2 cores shared by wrk, the server and (for ``postgres``) the database,
so compare rows of one run, not runs of different machines. Figures and environment are
also written to ``benchmarks/results/secrets_bench-<timestamp>.json``.

Run: ``uv run python benchmarks/secrets_bench.py [--duration 10] [--quick]
[--only sqlite,postgres,moto,hello] [--workers 1,2]``. The parts live in
``benchmarks/secretsbench/``. Needs root to install ``wrk``/``postgresql``
with apt-get when missing and to run PostgreSQL as user ``postgres``.
"""

from __future__ import annotations

import sys

from secretsbench.cli import main

if __name__ == "__main__":
    sys.exit(main(description=__doc__.splitlines()[0]))
