"""The durable revocation record: every logout, session end, user cut-off and revoke-all is a
row here first, and every process builds its revocation view from these rows at start, after a
Redis gap, and by polling for new ids (issue 14).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``revocations``."""
    op.create_table(
        "revocations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("kind", sa.String(3), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("instant", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('jti', 'sid', 'sub', 'all')", name=op.f("ck_revocations_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revocations")),
        # Ids must never come back after a purge of the newest rows: pollers read by id.
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_revocations_expires_at"), "revocations", ["expires_at"])


def downgrade() -> None:
    """Drop ``revocations``."""
    op.drop_index(op.f("ix_revocations_expires_at"), table_name="revocations")
    op.drop_table("revocations")
