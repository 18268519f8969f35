"""The shop's catalog, and the hand-offs' deadlines: a listing per SKU (current price, service tags) and its price history (who, when, why).

Price protection (价保) reads the listing's price at the time of the request from here, never from the
buyer's words. New tables only; nothing existing changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalog_listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('service_tags', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price_fen >= 0', name=op.f('ck_catalog_listings_price_nonnegative')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_catalog_listings_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_listings')),
    sa.UniqueConstraint('shop_id', 'sku', name='uq_catalog_listings_shop_sku')
    )
    op.create_index(op.f('ix_catalog_listings_shop_id'), 'catalog_listings', ['shop_id'], unique=False)
    op.create_table('catalog_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price_fen >= 0', name=op.f('ck_catalog_prices_price_nonnegative')),
    sa.ForeignKeyConstraint(['listing_id'], ['catalog_listings.id'], name=op.f('fk_catalog_prices_listing_id_catalog_listings'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_prices'))
    )
    op.create_index('ix_catalog_prices_listing_from', 'catalog_prices', ['listing_id', 'effective_from'], unique=False)
    # the agents' queue: each hand-off's deadline from the rule pack (bot.service.deadlines)
    with op.batch_alter_table('handoffs') as batch:
        batch.add_column(sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('deadline_kind', sa.String(length=24), nullable=True))
        batch.add_column(sa.Column('deadline_rule', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('handoffs') as batch:
        batch.drop_column('deadline_rule')
        batch.drop_column('deadline_kind')
        batch.drop_column('deadline_at')
    op.drop_index('ix_catalog_prices_listing_from', table_name='catalog_prices')
    op.drop_table('catalog_prices')
    op.drop_index(op.f('ix_catalog_listings_shop_id'), table_name='catalog_listings')
    op.drop_table('catalog_listings')
