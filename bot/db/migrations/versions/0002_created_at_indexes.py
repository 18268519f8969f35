"""Indexes on created_at of cases, hand-offs and ledger entries: the service report filters them by period.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:40:00
"""
from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_aftersales_cases_created_at", "aftersales_cases"),
    ("ix_handoffs_created_at", "handoffs"),
    ("ix_ledger_entries_created_at", "ledger_entries"),
]


def upgrade() -> None:
    for name, table in INDEXES:
        op.create_index(name, table, ["created_at"], unique=False)


def downgrade() -> None:
    for name, table in reversed(INDEXES):
        op.drop_index(name, table_name=table)
