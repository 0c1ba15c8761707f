"""guest_distinct_pairs: two emails an owner marked "not the same person"; their possible duplicate is not listed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'guest_distinct_pairs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email_a', sa.String(length=320), nullable=False),
        sa.Column('email_b', sa.String(length=320), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_guest_distinct_pairs_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'],
                                name=op.f('fk_guest_distinct_pairs_org_id_organizations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_guest_distinct_pairs')),
        sa.UniqueConstraint('org_id', 'email_a', 'email_b', name=op.f('uq_guest_distinct_pairs_org_id')),
    )
    with op.batch_alter_table('guest_distinct_pairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guest_distinct_pairs_org_id'), ['org_id'], unique=False)


def downgrade():
    with op.batch_alter_table('guest_distinct_pairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guest_distinct_pairs_org_id'))
    op.drop_table('guest_distinct_pairs')
