"""audience sync: destinations (Mailchimp/Klaviyo accounts and lists), syncs (segment -> list), the snapshot per
(sync, guest), runs and rejected records; marketing_opt_ins (a guest's recorded yes to marketing)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def _org():
    return sa.Column('org_id', sa.Integer(), sa.ForeignKey('organizations.id', ondelete='CASCADE'), nullable=False)


def upgrade():
    op.create_table(
        'marketing_opt_ins',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('guest_id', sa.BigInteger(), sa.ForeignKey('guests.id', ondelete='CASCADE'), nullable=False),
        sa.Column('source', sa.String(32), nullable=False),
        sa.Column('recorded_at', WHEN, nullable=False),
        _org(),
        sa.UniqueConstraint('org_id', 'guest_id'),
    )
    op.create_index('ix_marketing_opt_ins_org_id', 'marketing_opt_ins', ['org_id'])
    op.create_table(
        'audience_destinations',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('name', sa.String(120), nullable=False),
        sa.Column('base_url', sa.String(255), nullable=False),
        sa.Column('list_id', sa.String(64), nullable=False),
        sa.Column('api_key_enc', sa.Text(), nullable=False),
        sa.Column('account_key', sa.String(64), nullable=False),
        sa.Column('webhook_token', sa.String(64), nullable=False, unique=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('status_reason', sa.Text()),
        sa.Column('suppressions_polled_at', WHEN),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL')),
        sa.Column('created_at', WHEN, nullable=False),
        _org(),
    )
    op.create_index('ix_audience_destinations_org_id', 'audience_destinations', ['org_id'])
    op.create_table(
        'audience_syncs',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('segment_id', sa.Integer(), sa.ForeignKey('segments.id', ondelete='CASCADE'), nullable=False),
        sa.Column('destination_id', sa.Integer(), sa.ForeignKey('audience_destinations.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('fields_json', sa.Text(), nullable=False),
        sa.Column('remote_segment_id', sa.String(64)),
        sa.Column('remote_fields_json', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL')),
        sa.Column('created_at', WHEN, nullable=False),
        _org(),
        sa.UniqueConstraint('segment_id', 'destination_id'),
    )
    op.create_index('ix_audience_syncs_org_id', 'audience_syncs', ['org_id'])
    op.create_index('ix_audience_syncs_segment_id', 'audience_syncs', ['segment_id'])
    op.create_index('ix_audience_syncs_destination_id', 'audience_syncs', ['destination_id'])
    op.create_table(
        'audience_members',
        sa.Column('sync_id', sa.Integer(), sa.ForeignKey('audience_syncs.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('guest_id', sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column('remote_id', sa.String(64)),
        sa.Column('fingerprint', sa.String(32)),
        sa.Column('remote_status', sa.String(16)),
        sa.Column('created_by_sync', sa.Boolean(), nullable=False),
        sa.Column('in_list', sa.Boolean(), nullable=False),
        sa.Column('pending', sa.Boolean(), nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
    )
    op.create_index('ix_audience_members_remote', 'audience_members', ['sync_id', 'remote_id'])
    op.create_table(
        'audience_runs',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('sync_id', sa.Integer(), sa.ForeignKey('audience_syncs.id', ondelete='CASCADE'), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('trigger', sa.String(16), nullable=False),
        sa.Column('started_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL')),
        sa.Column('queued_at', WHEN, nullable=False),
        sa.Column('started_at', WHEN),
        sa.Column('finished_at', WHEN),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in (
            'members', 'to_send', 'added', 'updated', 'removed', 'unchanged', 'rejected', 'api_calls',
            'write_calls')),
        sa.Column('error', sa.Text()),
        _org(),
    )
    op.create_index('ix_audience_runs_org_id', 'audience_runs', ['org_id'])
    op.create_index('ix_audience_runs_sync_started', 'audience_runs', ['sync_id', 'id'])
    op.create_table(
        'audience_rejections',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('run_id', sa.Integer(), sa.ForeignKey('audience_runs.id', ondelete='CASCADE'), nullable=False),
        sa.Column('guest_id', sa.BigInteger(), nullable=False),
        sa.Column('code', sa.String(64), nullable=False),
        sa.Column('reason', sa.String(500), nullable=False),
        _org(),
    )
    op.create_index('ix_audience_rejections_org_id', 'audience_rejections', ['org_id'])
    op.create_index('ix_audience_rejections_run_id', 'audience_rejections', ['run_id'])


def downgrade():
    for table in ('audience_rejections', 'audience_runs', 'audience_members', 'audience_syncs',
                  'audience_destinations', 'marketing_opt_ins'):
        op.drop_table(table)
