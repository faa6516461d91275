"""Locations (SPEC 3c): sites and the places under them, where each unit in stock is, and where each movement
took it from and to

Revision ID: 0008
Revises: 0007

A new or upgraded database has one site, MAIN ("Main site"), and all stock that existed before is there: every
serial in stock, every product's unserialised units, and every movement that brought a unit in (to MAIN) or took
one out (from MAIN), so that `station check`, which recomputes locations from the movements alone, is clean after.
Downgrading drops the locations and what they said.
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_LOCATED = (
    # table, column, referred table, indexed
    ('serial_number', 'location_id', 'location', True),
    ('serial_number', 'transfer_id', 'document', True),
    ('movement', 'from_location_id', 'location', True),
    ('movement', 'to_location_id', 'location', True),
    ('document', 'location_id', 'location', False),
    ('document_line', 'location_id', 'location', False),
    ('station_state', 'location_id', 'location', False),
)


def upgrade() -> None:
    op.create_table(
        'location',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('gln', sa.String(length=13), nullable=True),
        sa.ForeignKeyConstraint(['parent_id'], ['location.id'], name=op.f('fk_location_parent_id_location')),
        sa.ForeignKeyConstraint(['site_id'], ['location.id'], name=op.f('fk_location_site_id_location')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_location')),
        sa.UniqueConstraint('code', name=op.f('uq_location_code')),
        sa.UniqueConstraint('gln', name=op.f('uq_location_gln')),
    )
    op.create_index(op.f('ix_location_parent_id'), 'location', ['parent_id'])
    op.create_index(op.f('ix_location_site_id'), 'location', ['site_id'])
    op.create_table(
        'stock_level',
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_stock_level_location_id_location')),
        sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_stock_level_product_id_product')),
        sa.PrimaryKeyConstraint('product_id', 'location_id', name=op.f('pk_stock_level')),
    )
    op.create_index('ix_stock_level_location_id', 'stock_level', ['location_id'])

    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table, column, referred, indexed in _LOCATED:
        name = f'fk_{table}_{column}_{referred}'
        if sqlite:
            # Added in place with its reference (SQLite's ADD COLUMN takes one), not by copying the table:
            # the copy would drop a table that others refer to.
            op.execute(f'ALTER TABLE {table} ADD COLUMN {column} INTEGER CONSTRAINT {name} REFERENCES {referred} (id)')
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(op.f(name), table, referred, [column], ['id'])
        if indexed:
            op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False)

    op.execute("INSERT INTO location (code, name, active, created_at) VALUES ('MAIN', 'Main site', true, CURRENT_TIMESTAMP)")
    main = "(SELECT id FROM location WHERE code = 'MAIN')"
    op.execute("UPDATE location SET site_id = id WHERE code = 'MAIN'")
    op.execute(f"UPDATE serial_number SET location_id = {main} WHERE in_stock = true")
    op.execute(f"UPDATE movement SET to_location_id = {main} WHERE quantity > 0")
    op.execute(f"UPDATE movement SET from_location_id = {main} WHERE quantity < 0")
    op.execute(f"INSERT INTO stock_level (product_id, location_id, quantity)"
               f" SELECT id, {main}, unserialised_on_hand FROM product WHERE unserialised_on_hand <> 0")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table, column, referred, indexed in reversed(_LOCATED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if indexed:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
            if not sqlite:  # SQLite's copy leaves the column's reference behind with it
                batch_op.drop_constraint(batch_op.f(f'fk_{table}_{column}_{referred}'), type_='foreignkey')
            batch_op.drop_column(column)
    op.drop_index('ix_stock_level_location_id', table_name='stock_level')
    op.drop_table('stock_level')
    op.drop_index(op.f('ix_location_site_id'), table_name='location')
    op.drop_index(op.f('ix_location_parent_id'), table_name='location')
    op.drop_table('location')
