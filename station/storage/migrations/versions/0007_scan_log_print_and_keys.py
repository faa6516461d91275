"""The scan log says which scans named a serial CMD:PRINT may print (issue 20 item 3) and keeps the digest of an
idempotency key's data (item 8: the same key with other data is refused, never answered with the first result)

Revision ID: 0007
Revises: 0006

Scans logged before keep what the old rule counted (a serial accepted, or read as a known serial or a GS1
code's AI 21), and no digest: their keys are compared by the raw text kept with them.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_scan_log_station_serial', table_name='scan_log')
    with op.batch_alter_table('scan_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('names_serial', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('data_digest', sa.String(length=64), nullable=True))
    op.execute("UPDATE scan_log SET names_serial = true WHERE serial_text IS NOT NULL"
               " AND (accepted = true OR read_as IN ('known_serial', 'gs1'))")
    op.create_index('ix_scan_log_station_serial', 'scan_log', ['station', 'id'],
                    sqlite_where=sa.text('names_serial = 1'), postgresql_where=sa.text('names_serial'))


def downgrade() -> None:
    op.drop_index('ix_scan_log_station_serial', table_name='scan_log')
    with op.batch_alter_table('scan_log', schema=None) as batch_op:
        batch_op.drop_column('data_digest')
        batch_op.drop_column('names_serial')
    op.create_index('ix_scan_log_station_serial', 'scan_log', ['station', 'id'],
                    sqlite_where=sa.text('serial_text IS NOT NULL'),
                    postgresql_where=sa.text('serial_text IS NOT NULL'))
