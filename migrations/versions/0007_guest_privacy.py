"""guest privacy: erased guests (guests.erased_at) and keyed hashes of their identifiers (erased_identifiers)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:50:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'erased_identifiers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'],
                                name=op.f('fk_erased_identifiers_org_id_organizations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erased_identifiers')),
        sa.UniqueConstraint('org_id', 'kind', 'digest', name=op.f('uq_erased_identifiers_org_id')),
    )
    with op.batch_alter_table('erased_identifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erased_identifiers_org_id'), ['org_id'], unique=False)
    with op.batch_alter_table('guests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('guests', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    with op.batch_alter_table('erased_identifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erased_identifiers_org_id'))
    op.drop_table('erased_identifiers')
