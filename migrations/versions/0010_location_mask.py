"""locations.slot and guests.location_mask: "ordered at location" as a bit test in the segments' covering index

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 15:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

MASK_SLOTS = 63
SEGMENT_FIGURES = (
    'org_id', 'last_order_at', 'id', 'order_count', 'net_spend_cents', 'avg_check_cents', 'total_tips_cents',
    'delivery_orders', 'takeout_orders', 'curbside_orders', 'dine_in_orders', 'delivery_spend_cents',
    'has_email', 'has_phone', 'marketing_opt_out',
)


def upgrade():
    # Plain ALTERs and indexes only: no table is rebuilt (on SQLite a rebuild of a referenced table is slow and
    # risky), so this is quick on large databases too.
    op.add_column('locations', sa.Column('slot', sa.SmallInteger(), nullable=True))
    op.create_index('ix_locations_org_id_slot', 'locations', ['org_id', 'slot'], unique=True)
    op.add_column('guests', sa.Column('location_mask', sa.BigInteger(), server_default='0', nullable=False))
    conn = op.get_bind()
    taken: dict[int, int] = {}
    for location_id, org_id in conn.execute(sa.text('SELECT id, org_id FROM locations ORDER BY org_id, id')).all():
        slot = taken.get(org_id, 0)
        if slot < MASK_SLOTS:
            conn.execute(sa.text('UPDATE locations SET slot = :slot WHERE id = :id'), {'slot': slot, 'id': location_id})
            taken[org_id] = slot + 1
    # guest_locations has one row per (guest, location): the sum of distinct bits is their OR.
    conn.execute(sa.text(
        'UPDATE guests SET location_mask = (SELECT SUM(CAST(1 AS BIGINT) << l.slot) FROM guest_locations gl '
        'JOIN locations l ON l.id = gl.location_id WHERE gl.guest_id = guests.id AND l.slot IS NOT NULL) '
        'WHERE EXISTS (SELECT 1 FROM guest_locations gl JOIN locations l ON l.id = gl.location_id '
        'WHERE gl.guest_id = guests.id AND l.slot IS NOT NULL)'
    ))
    op.drop_index('ix_guests_segment_figures', table_name='guests')
    op.create_index('ix_guests_segment_figures', 'guests', [*SEGMENT_FIGURES, 'location_mask'], unique=False)


def downgrade():
    op.drop_index('ix_guests_segment_figures', table_name='guests')
    op.create_index('ix_guests_segment_figures', 'guests', list(SEGMENT_FIGURES), unique=False)
    op.drop_column('guests', 'location_mask')
    op.drop_index('ix_locations_org_id_slot', table_name='locations')
    op.drop_column('locations', 'slot')
