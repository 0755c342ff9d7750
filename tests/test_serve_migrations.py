"""The Alembic migrations and the ORM tables describe the same schema, and go both ways."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ecglens.serve import db
from ecglens.serve.tables import Base


def test_migrations_match_the_tables_and_downgrade(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        db.upgrade(engine)
        db.upgrade(engine)  # idempotent: a restart runs it again
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"tables.py and the migrations disagree: {diff}"
        cfg = db.alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        left = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        db.upgrade(engine)
        tables = set(sa.inspect(engine).get_table_names())
        assert {"ecgs", "jobs", "audit_events", "users"} <= tables
    finally:
        engine.dispose()
