"""The durable print queue (print_job), what the daemon last saw of each printer (printer_status), and an index
of the scans that named a serial (CMD:PRINT prints the station's last one)

Revision ID: 0006
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('print_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('printer', sa.String(length=64), nullable=False),
        sa.Column('serial', sa.String(length=64), nullable=False),
        sa.Column('token', sa.String(length=16), nullable=False),
        sa.Column('state', sa.Enum('pending', 'printed', 'failed', name='printjobstate', native_enum=False,
                                   length=16), nullable=False),
        sa.Column('station', sa.String(length=64), nullable=True),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('possibly_printed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('claimed_by', sa.String(length=200), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error_code', sa.String(length=64), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('printed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_print_job_document_id_document')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_print_job')),
    )
    op.create_index('ix_print_job_state_printer_id', 'print_job', ['state', 'printer', 'id'])
    op.create_index('ix_print_job_printer_doubled', 'print_job', ['printer', 'possibly_printed', 'id'])
    op.create_table('printer_status',
        sa.Column('printer', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('printer', name=op.f('pk_printer_status')),
    )
    op.create_index('ix_scan_log_station_serial', 'scan_log', ['station', 'id'],
                    sqlite_where=sa.text('serial_text IS NOT NULL'),
                    postgresql_where=sa.text('serial_text IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_scan_log_station_serial', table_name='scan_log')
    op.drop_table('printer_status')
    op.drop_index('ix_print_job_printer_doubled', table_name='print_job')
    op.drop_index('ix_print_job_state_printer_id', table_name='print_job')
    op.drop_table('print_job')
