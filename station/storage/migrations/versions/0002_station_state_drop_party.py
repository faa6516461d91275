"""station_state: drop supplier_id and customer_id, which nothing ever read or wrote

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('station_state', schema=None) as batch_op:
        batch_op.drop_constraint('fk_station_state_customer_id_customer', type_='foreignkey')
        batch_op.drop_constraint('fk_station_state_supplier_id_supplier', type_='foreignkey')
        batch_op.drop_column('customer_id')
        batch_op.drop_column('supplier_id')


def downgrade() -> None:
    with op.batch_alter_table('station_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supplier_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_station_state_supplier_id_supplier', 'supplier', ['supplier_id'], ['id'])
        batch_op.create_foreign_key('fk_station_state_customer_id_customer', 'customer', ['customer_id'], ['id'])
