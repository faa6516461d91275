"""PostgreSQL: a movement's references are checked once per statement, not once per row (issue 22)

Revision ID: 0011
Revises: 0010

A movement names its product, serial, document, party and locations: seven foreign keys. PostgreSQL checks a
foreign key with a trigger per inserted row, each a query of its own: a 30,000-serial receipt's one INSERT of its
movements ran 210,000 of them, 0.55 s of a 1.7 s posting, where the rest of that statement took 0.2 s.

Here the seven keys are checked by the same rules, a statement at a time, on PostgreSQL only (SQLite's foreign
keys stay: its checks are cheap probes, not queries). What each side of a foreign key does is done:

- a statement that writes movements (INSERT, or an UPDATE of them) has every row it wrote checked at its end,
  one query per column whatever the number of rows: each key the rows name must be found, and is locked FOR KEY
  SHARE as a foreign key's check locks it, so that no other transaction deletes it (or changes its id) before
  this one ends;
- deleting a row of product, serial_number, document, supplier, customer or location (or changing its id) that
  a movement names is refused, as NO ACTION refuses it: an AFTER row trigger looks for such a movement. A
  transaction that wrote a movement naming the row holds its KEY SHARE lock, so the delete waits for it and
  then (READ COMMITTED, a new snapshot per statement in the trigger) sees the movement and is refused.

The functions name the tables as the schema the migration ran in has them (SET search_path FROM CURRENT), as a
foreign key names its tables once, whatever a later session's search_path. Both refuse with SQLSTATE 23503 (foreign_key_violation) and the constraint's name, as the foreign key did. Not
covered, as a foreign key would: TRUNCATE of a parent table alone (no row trigger fires on it), and a delete in
a REPEATABLE READ transaction racing a movement's commit (a foreign key uses a crosscheck snapshot there). The
station deletes none of these rows and runs at READ COMMITTED; both are a DBA's own statements.
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

#: movement's column -> the table it names (every one by its id), as the models' foreign keys say.
KEYS = (('product_id', 'product'), ('serial_id', 'serial_number'), ('document_id', 'document'),
        ('supplier_id', 'supplier'), ('customer_id', 'customer'), ('from_location_id', 'location'),
        ('to_location_id', 'location'))


def _constraint(column: str, table: str) -> str:
    return f'fk_movement_{column}_{table}'


def _check_function() -> str:
    counts = ', '.join(f'count(DISTINCT {column})' for column, _ in KEYS)
    into = ', '.join(f'n_{column}' for column, _ in KEYS)
    declare = ' '.join(f'n_{column} bigint;' for column, _ in KEYS)
    checks = '\n'.join(f"""
  IF n_{column} > 0 AND n_{column} <> (SELECT count(*) FROM (SELECT 1 FROM {table} p
        WHERE p.id IN (SELECT {column} FROM written) FOR KEY SHARE OF p) AS locked) THEN
    RAISE EXCEPTION 'insert or update on table "movement" violates foreign key constraint "{_constraint(column, table)}"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '{_constraint(column, table)}', TABLE = 'movement',
            DETAIL = 'A key in column {column} is not present in table "{table}".';
  END IF;""" for column, table in KEYS)
    return f"""
CREATE FUNCTION movement_keys_written() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE {declare}
BEGIN
  SELECT {counts} INTO {into} FROM written;{checks}
  RETURN NULL;
END $$"""


_REFERENCED = """
CREATE FUNCTION movement_keys_referenced() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE column_name text; named boolean;
BEGIN
  FOREACH column_name IN ARRAY TG_ARGV LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM movement WHERE %I = $1)', column_name) INTO named USING OLD.id;
    IF named THEN
      RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint "%" on table "movement"',
            TG_TABLE_NAME, 'fk_movement_' || column_name || '_' || TG_TABLE_NAME
        USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
              CONSTRAINT = 'fk_movement_' || column_name || '_' || TG_TABLE_NAME;
    END IF;
  END LOOP;
  RETURN NULL;
END $$"""


def _parents() -> dict[str, list[str]]:
    parents: dict[str, list[str]] = {}
    for column, table in KEYS:
        parents.setdefault(table, []).append(column)
    return parents


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for column, table in KEYS:
        op.drop_constraint(_constraint(column, table), 'movement', type_='foreignkey')
    op.execute(_check_function())
    for event in ('INSERT', 'UPDATE'):
        op.execute(f'CREATE TRIGGER movement_keys_{event.lower()} AFTER {event} ON movement '
                   f'REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION movement_keys_written()')
    op.execute(_REFERENCED)
    for table, columns in _parents().items():
        names = ', '.join(f"'{column}'" for column in columns)
        op.execute(f'CREATE TRIGGER movement_keys_delete AFTER DELETE ON {table} '
                   f'FOR EACH ROW EXECUTE FUNCTION movement_keys_referenced({names})')
        op.execute(f'CREATE TRIGGER movement_keys_update AFTER UPDATE OF id ON {table} FOR EACH ROW '
                   f'WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION movement_keys_referenced({names})')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in _parents():
        op.execute(f'DROP TRIGGER movement_keys_delete ON {table}')
        op.execute(f'DROP TRIGGER movement_keys_update ON {table}')
    op.execute('DROP TRIGGER movement_keys_insert ON movement')
    op.execute('DROP TRIGGER movement_keys_update ON movement')
    op.execute('DROP FUNCTION movement_keys_referenced()')
    op.execute('DROP FUNCTION movement_keys_written()')
    for column, table in KEYS:
        op.create_foreign_key(_constraint(column, table), 'movement', table, [column], ['id'])
