"""guests.profile_digest: a hash of a guest's derived profile, so order updates that change nothing write nothing

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('guests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile_digest', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('guests', schema=None) as batch_op:
        batch_op.drop_column('profile_digest')
