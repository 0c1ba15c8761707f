"""guests: search by any part of a name or email and by the last digits of a phone

``phone_reversed`` holds the digits of the E.164 phone in reverse, so "ends with 0101" is the index range
"starts with 1010" on (org_id, phone_reversed), on both databases. On PostgreSQL, trigram GIN indexes (pg_trgm)
serve "contains" on names and emails.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 09:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BATCH = 5000
TRIGRAM_COLUMNS = ('search_name', 'email')


def upgrade():
    op.add_column('guests', sa.Column('phone_reversed', sa.String(length=32), nullable=True))
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql':
        conn.execute(sa.text("UPDATE guests SET phone_reversed = reverse(ltrim(phone, '+')) WHERE phone IS NOT NULL"))
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for column in TRIGRAM_COLUMNS:
            op.create_index(f'ix_guests_{column}_trgm', 'guests', [column], postgresql_using='gin',
                            postgresql_ops={column: 'gin_trgm_ops'})
    else:
        _fill_in_batches(conn)  # SQLite has no reverse()
    op.create_index('ix_guests_org_phone_reversed', 'guests', ['org_id', 'phone_reversed'])


def _fill_in_batches(conn):
    last_id = 0
    while True:
        rows = conn.execute(sa.text(
            'SELECT id, phone FROM guests WHERE id > :last AND phone IS NOT NULL ORDER BY id LIMIT :n'
        ), {'last': last_id, 'n': BATCH}).all()
        if not rows:
            return
        conn.execute(sa.text('UPDATE guests SET phone_reversed = :value WHERE id = :id'),
                     [{'id': row.id, 'value': row.phone.lstrip('+')[::-1]} for row in rows])
        last_id = rows[-1].id


def downgrade():
    op.drop_index('ix_guests_org_phone_reversed', table_name='guests')
    if op.get_bind().dialect.name == 'postgresql':
        for column in TRIGRAM_COLUMNS:
            op.drop_index(f'ix_guests_{column}_trgm', table_name='guests')
    op.drop_column('guests', 'phone_reversed')
