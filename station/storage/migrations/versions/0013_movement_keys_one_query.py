"""PostgreSQL: a statement's movements have their seven keys checked in one query, not eight (issue 22)

Revision ID: 0013
Revises: 0012

Migration 0011 checks a movement's seven references once per statement: a trigger counts the distinct keys the
statement wrote, then looks each column's up (FOR KEY SHARE), eight queries. A query that reads a trigger's
transition table is planned again on every call (its plan cannot be kept past the statement), so for a posting
of a few lines the planning was the check: about 1 ms of a CMD:FINISH's 1.9 ms INSERT of its movements (EXPLAIN
ANALYZE: "Trigger movement_keys_insert: time=0.96"). The same checks are now one query, planned once a call: a
CASE per column, in the order 0011 checked them, each comparing the keys written with those found and locked,
naming the first column that misses one. What it refuses, with what error, and what it locks are unchanged
(tests/test_movement_keys.py).
"""
import functools
import importlib.util
from pathlib import Path

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


@functools.cache
def _earlier():
    """Migration 0011, whose keys (movement's column -> the table it names, checked in that order: the first
    failing column is the one named) and function this one rewrites (its module's name starts with a digit: loaded
    from its file)."""
    spec = importlib.util.spec_from_file_location(
        "movement_keys_0011", Path(__file__).with_name("0011_movement_keys_per_statement.py"))
    earlier = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(earlier)
    return earlier


def _one_query() -> str:
    keys = _earlier().KEYS
    counts = ', '.join(f'count(DISTINCT {column}) AS {column}' for column, _ in keys)
    whens = '\n'.join(f"""      WHEN written_keys.{column} > 0 AND written_keys.{column} <> (SELECT count(*) FROM (
            SELECT 1 FROM {table} p WHERE p.id IN (SELECT {column} FROM written) FOR KEY SHARE OF p) AS locked)
        THEN ARRAY['{column}', '{table}']""" for column, table in keys)
    return f"""
CREATE OR REPLACE FUNCTION movement_keys_written() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE missing text[]; name text;
BEGIN
  SELECT CASE
{whens}
    END INTO missing
  FROM (SELECT {counts} FROM written) AS written_keys;
  IF missing IS NOT NULL THEN
    name := 'fk_movement_' || missing[1] || '_' || missing[2];
    RAISE EXCEPTION 'insert or update on table "movement" violates foreign key constraint "%"', name
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = name, TABLE = 'movement',
            DETAIL = format('A key in column %s is not present in table "%s".', missing[1], missing[2]);
  END IF;
  RETURN NULL;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(_one_query())


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(_earlier()._check_function().replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION', 1))
