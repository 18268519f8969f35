"""Initial schema: shops, buyers, orders, items, shipments, cases, evidence, invoices, hand-offs, ledger.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 04:28:32.005443
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('buyers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('credit_tier', sa.String(length=8), nullable=False),
    sa.Column('nickname', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("platform IN ('tmall', 'taobao', 'jd', 'pdd')", name=op.f('ck_buyers_platform')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buyers'))
    )
    op.create_table('shops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("platform IN ('tmall', 'taobao', 'jd', 'pdd')", name=op.f('ck_shops_platform')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shops')),
    sa.UniqueConstraint('code', name=op.f('uq_shops_code'))
    )
    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_number', sa.String(length=32), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ship_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('listing_kind', sa.String(length=16), nullable=False),
    sa.Column('presale_ship_date', sa.Date(), nullable=True),
    sa.Column('free_shipping', sa.Boolean(), nullable=False),
    sa.Column('freight_insurance', sa.Boolean(), nullable=False),
    sa.Column('service_tags', sa.JSON(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("listing_kind IN ('ordinary', 'juhuasuan', 'presale')", name=op.f('ck_orders_listing_kind')),
    sa.CheckConstraint("order_number <> ''", name=op.f('ck_orders_order_number_not_empty')),
    sa.CheckConstraint("platform IN ('tmall', 'taobao', 'jd', 'pdd')", name=op.f('ck_orders_platform')),
    sa.CheckConstraint("status IN ('unpaid', 'paid_unshipped', 'shipped', 'signed', 'completed', 'closed')", name=op.f('ck_orders_status')),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyers.id'], name=op.f('fk_orders_buyer_id_buyers')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_orders_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('order_number', name=op.f('uq_orders_order_number'))
    )
    op.create_index(op.f('ix_orders_buyer_id'), 'orders', ['buyer_id'], unique=False)
    op.create_table('aftersales_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('intent', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('refusals', sa.Integer(), nullable=False),
    sa.Column('last_resolution', sa.JSON(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'offered', 'resolved', 'handed_off', 'closed')", name=op.f('ck_aftersales_cases_status')),
    sa.CheckConstraint('refusals >= 0', name=op.f('ck_aftersales_cases_refusals_nonnegative')),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyers.id'], name=op.f('fk_aftersales_cases_buyer_id_buyers')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_aftersales_cases_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aftersales_cases'))
    )
    op.create_index(op.f('ix_aftersales_cases_buyer_id'), 'aftersales_cases', ['buyer_id'], unique=False)
    op.create_index(op.f('ix_aftersales_cases_conversation_id'), 'aftersales_cases', ['conversation_id'], unique=False)
    op.create_index(op.f('ix_aftersales_cases_order_id'), 'aftersales_cases', ['order_id'], unique=False)
    op.create_table('invoice_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('tax_number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('electronic', 'paper')", name=op.f('ck_invoice_requests_kind')),
    sa.CheckConstraint("status IN ('requested', 'issued', 'refused')", name=op.f('ck_invoice_requests_status')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_invoice_requests_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_requests'))
    )
    op.create_index(op.f('ix_invoice_requests_order_id'), 'invoice_requests', ['order_id'], unique=False)
    op.create_table('order_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('no_return_when_opened', sa.Boolean(), nullable=False),
    sa.Column('unit_price_fen', sa.Integer(), nullable=False),
    sa.Column('paid_fen', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.CheckConstraint("category IN ('ordinary', 'glass', 'fresh_food', 'large_appliance', 'cosmetics', 'food', 'underwear', 'medicine', 'furniture', 'electronics', 'clothing')", name=op.f('ck_order_items_category')),
    sa.CheckConstraint('paid_fen >= 0', name=op.f('ck_order_items_paid_nonnegative')),
    sa.CheckConstraint('qty >= 1', name=op.f('ck_order_items_qty_positive')),
    sa.CheckConstraint('unit_price_fen >= 0', name=op.f('ck_order_items_unit_price_nonnegative')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_items_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items'))
    )
    op.create_index(op.f('ix_order_items_order_id'), 'order_items', ['order_id'], unique=False)
    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('courier', sa.String(length=64), nullable=False),
    sa.Column('waybill', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expected_delivery', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_date_only', sa.Boolean(), nullable=False),
    sa.Column('signed_by', sa.String(length=16), nullable=True),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.CheckConstraint("signed_by IS NULL OR signed_by IN ('buyer', 'third_party')", name=op.f('ck_shipments_signed_by')),
    sa.CheckConstraint("status IN ('awaiting_pickup', 'in_transit', 'out_for_delivery', 'signed', 'returned', 'lost')", name=op.f('ck_shipments_status')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipments_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    op.create_index(op.f('ix_shipments_order_id'), 'shipments', ['order_id'], unique=False)
    op.create_table('evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['aftersales_cases.id'], name=op.f('fk_evidence_case_id_aftersales_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence'))
    )
    op.create_index(op.f('ix_evidence_case_id'), 'evidence', ['case_id'], unique=False)
    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('waiting', 'taken', 'closed')", name=op.f('ck_handoffs_status')),
    sa.ForeignKeyConstraint(['case_id'], ['aftersales_cases.id'], name=op.f('fk_handoffs_case_id_aftersales_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs'))
    )
    op.create_index(op.f('ix_handoffs_conversation_id'), 'handoffs', ['conversation_id'], unique=False)
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('buyer_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=64), nullable=False),
    sa.Column('seed_rule', sa.String(length=64), nullable=False),
    sa.Column('approved_by', sa.String(length=80), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('compensation', 'review_rebate', 'refund', 'reship', 'voucher', 'points', 'shipping_subsidy')", name=op.f('ck_ledger_entries_kind')),
    sa.CheckConstraint("state IN ('promised', 'paid', 'cancelled')", name=op.f('ck_ledger_entries_state')),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_ledger_entries_amount_nonnegative')),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyers.id'], name=op.f('fk_ledger_entries_buyer_id_buyers')),
    sa.ForeignKeyConstraint(['case_id'], ['aftersales_cases.id'], name=op.f('fk_ledger_entries_case_id_aftersales_cases')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_ledger_entries_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_entries_idempotency_key'))
    )
    op.create_index(op.f('ix_ledger_entries_buyer_id'), 'ledger_entries', ['buyer_id'], unique=False)
    op.create_index(op.f('ix_ledger_entries_case_id'), 'ledger_entries', ['case_id'], unique=False)
    op.create_index(op.f('ix_ledger_entries_order_id'), 'ledger_entries', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ledger_entries_order_id'), table_name='ledger_entries')
    op.drop_index(op.f('ix_ledger_entries_case_id'), table_name='ledger_entries')
    op.drop_index(op.f('ix_ledger_entries_buyer_id'), table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index(op.f('ix_handoffs_conversation_id'), table_name='handoffs')
    op.drop_table('handoffs')
    op.drop_index(op.f('ix_evidence_case_id'), table_name='evidence')
    op.drop_table('evidence')
    op.drop_index(op.f('ix_shipments_order_id'), table_name='shipments')
    op.drop_table('shipments')
    op.drop_index(op.f('ix_order_items_order_id'), table_name='order_items')
    op.drop_table('order_items')
    op.drop_index(op.f('ix_invoice_requests_order_id'), table_name='invoice_requests')
    op.drop_table('invoice_requests')
    op.drop_index(op.f('ix_aftersales_cases_order_id'), table_name='aftersales_cases')
    op.drop_index(op.f('ix_aftersales_cases_conversation_id'), table_name='aftersales_cases')
    op.drop_index(op.f('ix_aftersales_cases_buyer_id'), table_name='aftersales_cases')
    op.drop_table('aftersales_cases')
    op.drop_index(op.f('ix_orders_buyer_id'), table_name='orders')
    op.drop_table('orders')
    op.drop_table('shops')
    op.drop_table('buyers')
