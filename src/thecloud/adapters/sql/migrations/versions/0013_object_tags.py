"""object tags: a tag set on every object version and multipart upload

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("object_versions", "multipart_uploads")


def upgrade() -> None:
    # a constant default: SQLite and PostgreSQL (11+) add it without rewriting the table,
    # and the rows already there get an empty tag set
    for table in TABLES:
        op.add_column(
            table, sa.Column("tags", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:  # SQLite: a copy of the table
            batch.drop_column("tags")
