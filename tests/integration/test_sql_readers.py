"""Readers and writers see the same rows: on SQLite the readers' raw driver path (rawread.py)
must decode every column type exactly as SQLAlchemy does on the writers' path."""

from __future__ import annotations

from typing import Any

from tests.integration import builders as b
from tests.integration.builders import Db
from thecloud.domain.common import ListQuery


async def both_paths(db: Db, repo: str, call: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    async with db.uow(read_only=True) as reader:
        seen_by_reader = await getattr(getattr(reader, repo), call)(*args, **kwargs)
    async with db.uow() as writer:  # a write transaction reads through SQLAlchemy
        seen_by_writer = await getattr(getattr(writer, repo), call)(*args, **kwargs)
    return seen_by_reader, seen_by_writer


async def test_every_column_type_reads_the_same_on_both_paths(db: Db) -> None:
    owner, tenant = await b.seed_tenant(db.uow)
    sa = b.service_account(tenant.id)
    pol = b.policy(tenant.id)
    await b.add_all(db, "service_accounts", sa)  # booleans
    await b.add_all(db, "policies", pol)  # JSON document
    await b.add_all(db, "secrets", b.secret(tenant.id))  # blobs, nullable timestamps
    await b.add_all(db, "audit", b.audit(tenant.id))  # JSON details
    await b.add_all(db, "roles", b.role(tenant.id))  # JSON list -> tuple
    for repo in ("service_accounts", "policies", "secrets", "audit", "roles", "tenants", "users"):
        reader, writer = await both_paths(db, repo, "list", ListQuery())
        assert repr(reader) == repr(writer) and reader.total >= 1, repo  # repr: True is not 1
    for repo, ident in (("service_accounts", sa.id), ("policies", pol.id), ("users", owner.id)):
        reader, writer = await both_paths(db, repo, "get", ident)
        assert repr(reader) == repr(writer) and reader is not None, repo


async def test_filters_with_none_counts_and_pages_match(db: Db) -> None:
    _, tenant = await b.seed_tenant(db.uow)
    await b.add_all(db, "secrets", *(b.secret(tenant.id) for _ in range(7)))
    query = ListQuery(filters={"last_accessed_at": None})
    reader, writer = await both_paths(db, "secrets", "list", query, tenant.id)
    assert repr(reader) == repr(writer) and reader.total == 7
    reader, writer = await both_paths(db, "secrets", "count", tenant_id=tenant.id)
    assert reader == writer == 7
    reader, writer = await both_paths(db, "auth_state", "generation")
    assert reader == writer
