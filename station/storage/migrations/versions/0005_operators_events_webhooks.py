"""Operators, who scanned each line and scan, the integration event feed, and the webhook outbox

Revision ID: 0005
Revises: 0003

Existing lines and scans keep a null user (nobody was recorded); a database
upgraded here starts its event feed empty, with nothing owed to any webhook.
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('operator',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_operator')),
        sa.UniqueConstraint('code', name=op.f('uq_operator_code')),
    )
    op.create_table('event',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('subject', sa.String(length=16), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    )
    op.create_table('webhook',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('cursor', sa.Integer(), nullable=False),
        sa.Column('holder', sa.String(length=300), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook')),
        sa.UniqueConstraint('url', name=op.f('uq_webhook_url')),
    )
    op.create_table('webhook_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('webhook_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.Enum('pending', 'delivered', 'failed', name='deliverystate', native_enum=False,
                                   length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('first_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_webhook_delivery_event_id_event')),
        sa.ForeignKeyConstraint(['webhook_id'], ['webhook.id'], name=op.f('fk_webhook_delivery_webhook_id_webhook'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
        sa.UniqueConstraint('webhook_id', 'event_id', name=op.f('uq_webhook_delivery_webhook_id_event_id')),
    )
    op.create_index('ix_webhook_delivery_webhook_state', 'webhook_delivery', ['webhook_id', 'state', 'event_id'])
    with op.batch_alter_table('document_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user', sa.String(length=64), nullable=True))
    with op.batch_alter_table('scan_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user', sa.String(length=64), nullable=True))
    with op.batch_alter_table('station_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('operator_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('operator_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_station_state_operator_id_operator'), 'operator',
                                    ['operator_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('station_state', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_station_state_operator_id_operator'), type_='foreignkey')
        batch_op.drop_column('operator_seen_at')
        batch_op.drop_column('operator_id')
    with op.batch_alter_table('scan_log', schema=None) as batch_op:
        batch_op.drop_column('user')
    with op.batch_alter_table('document_line', schema=None) as batch_op:
        batch_op.drop_column('user')
    op.drop_index('ix_webhook_delivery_webhook_state', table_name='webhook_delivery')
    op.drop_table('webhook_delivery')
    op.drop_table('webhook')
    op.drop_table('event')
    op.drop_table('operator')
