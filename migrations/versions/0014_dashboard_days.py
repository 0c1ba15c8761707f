"""dashboard_days: the dashboard's figures per organization, local day and location, kept by the ingest path
(filled for existing organizations by `flask guests rebuild-dashboard --org <slug>`)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 09:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dashboard_days',
        sa.Column('org_id', sa.Integer(), sa.ForeignKey('organizations.id', ondelete='CASCADE'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('location_id', sa.Integer(), sa.ForeignKey('locations.id', ondelete='CASCADE'), nullable=False),
        sa.Column('orders', sa.Integer(), nullable=False),
        sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
        sa.Column('captured_orders', sa.Integer(), nullable=False),
        sa.Column('guest_visits', sa.Integer(), nullable=False),
        sa.Column('new_guests', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('org_id', 'day', 'location_id'),
    )


def downgrade():
    op.drop_table('dashboard_days')
