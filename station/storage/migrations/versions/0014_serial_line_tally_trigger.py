"""SQLite: a serial's line is tallied by a trigger as it is written (issue 22: a serial scan in five statements)

Revision ID: 0014
Revises: 0013

A serial scan wrote its line, then its product's tally (units += 1, taken += 1 when the line takes the unit out
of stock) in an upsert of its own: six statements with BEGIN IMMEDIATE, the station's read, its state and its log.
PostgreSQL sends the line and its tally in one round trip already (documents._beside_tally); SQLite cannot send
two statements in one call, so this trigger writes the tally inside the line's own INSERT.

It tallies only lines that name a serial and a product, whose tally is a pure function of the line: its
``quantity`` (1, or -1 on an adjustment) as units, and ``takes_unit`` (1 or 0) as taken. A line of unserialised
units is tallied by its writer as before: what it takes depends on its document's kind (vocabulary.POLICY). Every
writer of a serial's line on SQLite leaves its tally to the trigger (tallies.by_trigger); a line that the unique
index of rule 8 turns away (ON CONFLICT DO NOTHING) fires nothing. A line taken back or undone is counted down by
its writer, as before: this trigger only adds.

SQLite drops a table's triggers with it, so a later migration that copies document_line (alembic's batch mode) must
create this trigger again, as 0012's (tests/test_line_numbers.py checks both are there).
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

TRIGGER = "document_line_tallied"
CREATE = f"""
CREATE TRIGGER {TRIGGER} AFTER INSERT ON document_line FOR EACH ROW
WHEN NEW.serial IS NOT NULL AND NEW.product_id IS NOT NULL BEGIN
    INSERT INTO document_tally (document_id, product_id, units, taken, received)
    VALUES (NEW.document_id, NEW.product_id, NEW.quantity, NEW.takes_unit, 0)
    ON CONFLICT (document_id, product_id) DO UPDATE SET units = units + excluded.units, taken = taken + excluded.taken;
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
