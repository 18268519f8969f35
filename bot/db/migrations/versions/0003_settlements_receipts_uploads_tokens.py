"""Settlements (one per case, a unique constraint), message receipts (a re-sent 不行/好的 changes nothing),
photo uploads (evidence must name a stored upload of this buyer), agent tokens (expiring, revocable),
case lines (the order lines a case is about: cash limits hold per line).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 22:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=80), nullable=False),
        sa.Column("cash_fen", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["aftersales_cases.id"],
                                name="fk_settlements_case_id_aftersales_cases"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_settlements_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_settlements"),
        sa.UniqueConstraint("case_id", name="uq_settlements_case_id"),
    )
    op.create_index("ix_settlements_order_id", "settlements", ["order_id"], unique=False)
    op.create_table(
        "case_lines",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("order_item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["aftersales_cases.id"],
                                name="fk_case_lines_case_id_aftersales_cases"),
        sa.ForeignKeyConstraint(["order_item_id"], ["order_items.id"],
                                name="fk_case_lines_order_item_id_order_items"),
        sa.PrimaryKeyConstraint("case_id", "order_item_id", name="pk_case_lines"),
    )
    op.create_table(
        "message_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["aftersales_cases.id"],
                                name="fk_message_receipts_case_id_aftersales_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_message_receipts"),
        sa.UniqueConstraint("case_id", "message_id", name="uq_message_receipts_case_message"),
    )
    op.create_table(
        "photo_uploads",
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference", name="pk_photo_uploads"),
    )
    op.create_index("ix_photo_uploads_buyer_id", "photo_uploads", ["buyer_id"], unique=False)
    op.create_table(
        "agent_tokens",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_agent_tokens"),
    )


def downgrade() -> None:
    op.drop_table("agent_tokens")
    op.drop_index("ix_photo_uploads_buyer_id", table_name="photo_uploads")
    op.drop_table("photo_uploads")
    op.drop_table("message_receipts")
    op.drop_table("case_lines")
    op.drop_index("ix_settlements_order_id", table_name="settlements")
    op.drop_table("settlements")
