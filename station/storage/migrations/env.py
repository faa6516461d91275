"""Alembic environment: the engine comes from the caller (station.storage.db.migrate).

On SQLite a migration that changes a column copies its table (alembic's batch mode), and dropping the old copy of
a table that others refer to would fail its references. So, as SQLite's own ALTER TABLE procedure says, references
are switched off for the migration (before its transaction begins: the pragma is a no-op inside one), checked in
full with ``PRAGMA foreign_key_check`` before it commits, and switched on again after.
"""
from alembic import context

from station.domain.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                raise RuntimeError(f"the migration left rows whose references do not hold: {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
