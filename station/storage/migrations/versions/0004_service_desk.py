"""The service desk: products' warranty, serials in service, faulty and their warranty's end, replacement lines

Revision ID: 0004
Revises: 0003

What an existing database holds needs no rewriting to agree with the
movements, so the server defaults are the fill, and no table is rewritten
(``ADD COLUMN`` with a constant default is a catalogue change on PostgreSQL):

- ``product.warranty_months`` is new, so every product starts at 0 (no
  warranty): a warranty is given by a sale posted once a product has one;
- ``movement.warranty_months`` (what a sale or replacement gave) is NULL on
  every movement before this one: none of them gave a warranty, so every
  serial's ``warranty_until`` is NULL, as SPEC 2 derives it (its last sale
  plus its product's months: 0);
- no service movement exists yet, so no serial is ``in_service`` or
  ``faulty``.

``station check`` proves it after the upgrade (tests/test_service_migration.py).

On SQLite every column is added by ``ALTER TABLE ... ADD COLUMN``: a default
given as an SQL expression (``text('false')``) would make alembic's batch
mode copy ``serial_number`` into a new table and drop the old one, which the
movements' foreign keys forbid on a database that holds any.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    false = '0' if op.get_bind().dialect.name == 'sqlite' else 'false'  # a constant: see the module's docstring
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warranty_months', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('serial_number', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_service', sa.Boolean(), server_default=false, nullable=False))
        batch_op.add_column(sa.Column('faulty', sa.Boolean(), server_default=false, nullable=False))
        batch_op.add_column(sa.Column('warranty_until', sa.Date(), nullable=True))
        batch_op.create_index('ix_serial_number_in_service', ['in_service'], unique=False,
                              sqlite_where=sa.text('in_service = 1'), postgresql_where=sa.text('in_service'))
    with op.batch_alter_table('movement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warranty_months', sa.Integer(), nullable=True))
    with op.batch_alter_table('document_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaces', sa.String(length=64), nullable=True))


DROPPED = (('document_line', 'replaces'), ('movement', 'warranty_months'), ('serial_number', 'warranty_until'),
           ('serial_number', 'faulty'), ('serial_number', 'in_service'), ('product', 'warranty_months'))


def downgrade() -> None:
    # SQLite (3.35 and later) drops a column in place; batch mode would copy and drop serial_number (see above).
    op.drop_index('ix_serial_number_in_service', table_name='serial_number')
    for table, column in DROPPED:
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        else:
            op.drop_column(table, column)
