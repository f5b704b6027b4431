"""Users may live outside the store: sessions and second factors name a user id of up to 64
characters without a foreign key to ``users`` (an embedding host's own user table).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["downgrade", "upgrade"]

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, foreign key) of every reference to users.id.
_REFERENCES = (
    ("sessions", "fk_sessions_user_id_users"),
    ("mfa_totp", "fk_mfa_totp_user_id_users"),
    ("mfa_recovery_codes", "fk_mfa_recovery_codes_user_id_users"),
)


def upgrade() -> None:
    """Drop the foreign keys to ``users`` and widen ``user_id`` to 64 characters."""
    for table, foreign_key in _REFERENCES:
        with op.batch_alter_table(table) as batch:  # SQLite alters by copying the table
            batch.drop_constraint(foreign_key, type_="foreignkey")
            batch.alter_column(
                "user_id", existing_type=sa.String(32), type_=sa.String(64), existing_nullable=False
            )


def downgrade() -> None:
    """Restore the foreign keys (fails while a row names a user the table lacks)."""
    for table, foreign_key in _REFERENCES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "user_id", existing_type=sa.String(64), type_=sa.String(32), existing_nullable=False
            )
            batch.create_foreign_key(foreign_key, "users", ["user_id"], ["id"], ondelete="CASCADE")
