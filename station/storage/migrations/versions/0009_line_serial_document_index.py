"""A document's line for a serial is found by one index probe (issue 23): the lines' serial index also holds the
document

Revision ID: 0009
Revises: 0008

A count asks, for every serial expected where it counts, whether one of its own lines names it. On the serial
index alone, or on (document, product), each such question read every line of the count or every line that
ever named the serial, and the count's scans slowed as it grew. The index on (serial, document_id) answers it
in one probe and still finds every line of a serial as the old one did, so it replaces it.
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_document_line_serial_document', 'document_line', ['serial', 'document_id'])
    op.drop_index('ix_document_line_serial', table_name='document_line')


def downgrade() -> None:
    op.create_index('ix_document_line_serial', 'document_line', ['serial'])
    op.drop_index('ix_document_line_serial_document', table_name='document_line')
