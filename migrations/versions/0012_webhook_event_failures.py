"""webhook_events: failed_attempts (a poison event is given up after a bounded number), retry_at (an event left
pending waits until then), and partial indexes on the pending events (the drain reads them per connection in id
order) and on the failed ones (support counts them)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'received'")
FAILED = sa.text("status = 'failed'")


def upgrade():
    # Plain ALTERs and indexes only: no table is rebuilt, so this is quick on large tables too.
    op.add_column('webhook_events', sa.Column('failed_attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('webhook_events', sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True))
    # "failed" used to mean "one job failed, the sweep retries it"; it now means "given up". Events left failed
    # by the per-event jobs go back to pending with that failure counted, for a bounded number of new attempts.
    op.execute("UPDATE webhook_events SET status = 'received', failed_attempts = 1 WHERE status = 'failed'")
    op.create_index('ix_webhook_events_pending', 'webhook_events', ['connection_id', 'id'], unique=False,
                    sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index('ix_webhook_events_failed', 'webhook_events', ['org_id', 'id'], unique=False,
                    sqlite_where=FAILED, postgresql_where=FAILED)


def downgrade():
    op.drop_index('ix_webhook_events_failed', table_name='webhook_events')
    op.drop_index('ix_webhook_events_pending', table_name='webhook_events')
    op.drop_column('webhook_events', 'retry_at')
    op.drop_column('webhook_events', 'failed_attempts')
