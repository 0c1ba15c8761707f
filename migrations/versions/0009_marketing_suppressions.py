"""marketing_suppressions: keyed hashes of emails and phones that opted out, applied to guests who order later

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'marketing_suppressions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'],
                                name=op.f('fk_marketing_suppressions_org_id_organizations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_marketing_suppressions')),
        sa.UniqueConstraint('org_id', 'kind', 'digest', name=op.f('uq_marketing_suppressions_org_id')),
    )
    with op.batch_alter_table('marketing_suppressions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marketing_suppressions_org_id'), ['org_id'], unique=False)


def downgrade():
    with op.batch_alter_table('marketing_suppressions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_marketing_suppressions_org_id'))
    op.drop_table('marketing_suppressions')
