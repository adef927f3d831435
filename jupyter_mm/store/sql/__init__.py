"""The SQL store: SQLAlchemy 2 models, engine setup, Alembic migrations and ``SqlStore``."""
