"""Storage: engines for SQLite and PostgreSQL, the alembic migrations, and retried transactions."""
