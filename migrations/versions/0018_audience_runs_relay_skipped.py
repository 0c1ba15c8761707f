"""audience_runs.relay_skipped: members of the segment whose only address is a delivery marketplace's relay, never
sent to the destination (they cannot receive marketing), counted per run

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audience_runs', sa.Column('relay_skipped', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    op.drop_column('audience_runs', 'relay_skipped')
