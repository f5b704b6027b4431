"""Managed keyring: signing keys (sealed) and the keyring state with the revoke-all cut-off.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``signing_keys`` and ``keyring_state``."""
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(128), nullable=False),
        sa.Column("alg", sa.String(8), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("activated_at", sa.Double(), nullable=True),
        sa.Column("deactivated_at", sa.Double(), nullable=True),
        sa.Column("retire_at", sa.Double(), nullable=True),
        sa.Column("material", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "state IN ('next', 'active', 'retiring', 'retired')",
            name=op.f("ck_signing_keys_state"),
        ),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "keyring_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("revoked_before", sa.Double(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_keyring_state_singleton")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyring_state")),
    )


def downgrade() -> None:
    """Drop what upgrade added (the managed keys go with it)."""
    op.drop_table("keyring_state")
    op.drop_table("signing_keys")
