"""Per-document tallies and line counts, lines that take units, the station's phase stored

Revision ID: 0003
Revises: 0002

A scan used to add up the open document's lines; these counters make its
work independent of the document's size. Existing databases are filled in:
line counts and tallies from the lines, purchase orders' received counts
from their posted receipts, the phase from the old flags.
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_count', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('document_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('takes_unit', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.create_table('document_tally',
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('units', sa.Integer(), server_default='0', nullable=False),
        sa.Column('taken', sa.Integer(), server_default='0', nullable=False),
        sa.Column('received', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_document_tally_document_id_document'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_document_tally_product_id_product')),
        sa.PrimaryKeyConstraint('document_id', 'product_id', name=op.f('pk_document_tally')),
    )
    with op.batch_alter_table('station_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phase', sa.Enum('idle', 'open', 'awaiting_serial', 'sticky', name='phase',
                                                       native_enum=False, length=16),
                                      server_default='idle', nullable=False))

    op.execute("UPDATE document SET line_count = (SELECT count(*) FROM document_line l WHERE l.document_id = document.id)")
    # Open lines that take unserialised units: units of sales and supplier returns, adjustments down.
    op.execute("""
        UPDATE document_line SET takes_unit = true
        WHERE is_open AND serial IS NULL AND (
            quantity < 0 OR document_id IN (SELECT id FROM document WHERE kind IN ('sale', 'supplier_return')))
    """)
    op.execute("""
        INSERT INTO document_tally (document_id, product_id, units, taken, received)
        SELECT document_id, product_id, sum(quantity),
               sum(CASE WHEN takes_unit THEN abs(quantity) ELSE 0 END), 0
        FROM document_line WHERE product_id IS NOT NULL GROUP BY document_id, product_id
    """)
    op.execute("""
        UPDATE document_tally SET received = coalesce((
            SELECT sum(l.quantity) FROM document_line l JOIN document r ON r.id = l.document_id
            WHERE r.order_id = document_tally.document_id AND r.status = 'posted'
              AND l.product_id = document_tally.product_id), 0)
        WHERE document_id IN (SELECT id FROM document WHERE kind = 'purchase_order')
    """)
    op.execute("""
        UPDATE station_state SET phase = CASE
            WHEN document_id IS NULL OR document_id NOT IN (SELECT id FROM document WHERE status = 'open') THEN 'idle'
            WHEN product_id IS NOT NULL AND awaiting_serial THEN 'awaiting_serial'
            WHEN product_id IS NOT NULL AND document_id IN (SELECT id FROM document WHERE kind = 'receipt') THEN 'sticky'
            ELSE 'open' END
    """)
    with op.batch_alter_table('station_state', schema=None) as batch_op:
        batch_op.drop_column('awaiting_serial')


def downgrade() -> None:
    with op.batch_alter_table('station_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('awaiting_serial', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.execute("UPDATE station_state SET awaiting_serial = (phase = 'awaiting_serial')")
    with op.batch_alter_table('station_state', schema=None) as batch_op:
        batch_op.drop_column('phase')
    op.drop_table('document_tally')
    with op.batch_alter_table('document_line', schema=None) as batch_op:
        batch_op.drop_column('takes_unit')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_column('line_count')
