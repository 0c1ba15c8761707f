"""guests: drop the indexes that others cover, each an index write on every profile update: the lone org_id index
(every guest query filters org_id through a composite index) and (org_id, last_order_at, id), which
ix_guests_segment_figures leads with

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 17:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_guests_org_id', table_name='guests')
    op.drop_index('ix_guests_org_last_order_at', table_name='guests')


def downgrade():
    op.create_index('ix_guests_org_last_order_at', 'guests', ['org_id', 'last_order_at', 'id'])
    op.create_index('ix_guests_org_id', 'guests', ['org_id'])
