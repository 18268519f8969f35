"""Agents' intent corrections (the console's learning loop), exported as labelled logs for training.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intent_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("predicted_intent", sa.String(64), nullable=False),
        sa.Column("corrected_intent", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intent_corrections")),
        sa.UniqueConstraint("conversation_id", "text_sha256", name=op.f("uq_intent_corrections_conversation_id")),
    )
    op.create_index(op.f("ix_intent_corrections_conversation_id"), "intent_corrections", ["conversation_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_intent_corrections_conversation_id"), table_name="intent_corrections")
    op.drop_table("intent_corrections")
