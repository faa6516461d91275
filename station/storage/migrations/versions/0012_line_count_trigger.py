"""SQLite: a document's line count follows its lines' numbers, kept by a trigger (issue 22: a scan's line in one
statement fewer)

Revision ID: 0012
Revises: 0011

A scan numbered its line by counting the document up (an UPDATE ... RETURNING), then wrote it: two statements on
SQLite, which has no data-modifying CTE to make them one as PostgreSQL does (documents._COUNT_AND_INSERT). The
line now takes its number from the document in its own INSERT (``SELECT line_count + 1 FROM document``), and this
trigger raises the count to the number of each line written. It raises it, never adds to it: every other writer
of lines that keeps the count itself (counts up before its INSERT, or sets it after) finds it as it would have,
and a line the unique index of rule 8 turns away fires nothing, so it has no count to take back.

SQLite only: on PostgreSQL the count's UPDATE rides in the line's INSERT already, where a trigger would cost a
function call per line and save no statement. Lines written in bulk pay it per row, about 1.3 us each (100,000
lines by executemany: 0.24 s of SQLite's time against 0.11 s without it). SQLite drops a table's triggers with it,
so a later migration that copies document_line (alembic's batch mode) must create this trigger again
(tests/test_line_numbers.py checks it is there).
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TRIGGER = "document_line_counted"
CREATE = f"""
CREATE TRIGGER {TRIGGER} AFTER INSERT ON document_line FOR EACH ROW BEGIN
    UPDATE document SET line_count = NEW.line_no WHERE id = NEW.document_id AND line_count < NEW.line_no;
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
