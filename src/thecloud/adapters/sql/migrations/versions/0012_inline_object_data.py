"""small objects' data kept in their metadata row

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable, no default: SQLite and PostgreSQL add it without rewriting the table
    op.add_column("object_versions", sa.Column("inline_data", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("object_versions") as batch:  # SQLite: a copy of the table
        batch.drop_column("inline_data")
