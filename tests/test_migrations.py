"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from station.domain.models import Base, Movement


def test_migrated_schema_matches_the_models(db):
    """Guards against a model change without its migration (or a migration the models do not know).

    On PostgreSQL a movement's foreign keys are checked a statement at a time by migration 0011's triggers, not
    by constraints (tests/test_movement_keys.py: they refuse what the keys refuse): those seven, and only those,
    are missing there."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    if db.backend == "postgresql":
        by_trigger = [d for d in differences if d[0] == "add_fk" and d[1].table.name == Movement.__tablename__]
        assert {fk.name for _, fk in by_trigger} == {fk.name for fk in Movement.__table__.foreign_key_constraints}
        differences = [d for d in differences if d not in by_trigger]
    assert differences == []
