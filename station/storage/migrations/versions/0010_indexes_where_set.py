"""Columns NULL on most rows are indexed where set, and the lines' (document, product) index goes (issue 22)

Revision ID: 0010
Revises: 0009

A serial's customer and transfer, and a movement's from- and to-location, are NULL on most rows (a receipt's
serials have neither customer nor transfer, its movements come from no location), yet a full index holds an
entry for every NULL: posting a 30,000-serial receipt wrote 30,000 of each. Every query of these columns
compares them (``=``, ``IN``, a join, the foreign keys' own checks), which both planners take to imply
``IS NOT NULL``, so an index of the rows where the column is set serves them all (tests/test_explain.py).

``ix_document_line_order_product`` (document_id, product_id) is served by no query any more: the lines of a
document are found by the unique (document_id, line_no), a product's units on a document are its tally
(document_tally). It cost an entry on every line a scan adds and another on every line a posting closes.
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_WHERE_SET = (('serial_number', 'customer_id'), ('serial_number', 'transfer_id'),
              ('movement', 'from_location_id'), ('movement', 'to_location_id'))


def upgrade() -> None:
    for table, column in _WHERE_SET:
        op.drop_index(f'ix_{table}_{column}', table_name=table)
        where = sa.text(f'{column} IS NOT NULL')
        op.create_index(f'ix_{table}_{column}', table, [column], sqlite_where=where, postgresql_where=where)
    op.drop_index('ix_document_line_order_product', table_name='document_line')


def downgrade() -> None:
    op.create_index('ix_document_line_order_product', 'document_line', ['document_id', 'product_id'])
    for table, column in _WHERE_SET:
        op.drop_index(f'ix_{table}_{column}', table_name=table)
        op.create_index(f'ix_{table}_{column}', table, [column])
