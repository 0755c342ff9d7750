"""audit chain: a SHA-256 hash chain over the audit log, and append-only against every statement

Every row gets ``prev_hash`` and ``row_hash`` (rows already there are chained here, in id
order, with the function the service writes them with). The database now also refuses an
INSERT that does not add a row after the last one (SQLite's ``INSERT OR REPLACE`` with an
existing id deleted the old row without firing the DELETE trigger; PostgreSQL's
``ON CONFLICT DO UPDATE`` meets the UPDATE trigger) and, on PostgreSQL, TRUNCATE.
``audit_chain_lock`` holds the one row writers lock to chain one at a time.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_MESSAGE = "the audit log is append-only"
_BATCH = 5000


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _sqlite_update_delete_triggers() -> None:
    for what in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_events_no_{what.lower()} BEFORE {what} ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        )


def _backfill() -> None:
    """Chain the rows already there (the UPDATE trigger is off while this runs)."""
    from ecglens.serve.audit import GENESIS, chain_hash

    events = sa.table(
        'audit_events', sa.column('id', sa.Integer), sa.column('at', sa.DateTime(timezone=True)),
        sa.column('actor', sa.String), sa.column('role', sa.String),
        sa.column('action', sa.String), sa.column('ecg_id', sa.Integer),
        sa.column('detail', sa.Text), sa.column('client', sa.String),
        sa.column('prev_hash', sa.String), sa.column('row_hash', sa.String))
    bind = op.get_bind()
    prev, after = GENESIS, 0
    while True:
        rows = bind.execute(sa.select(events).where(events.c.id > after)
                            .order_by(events.c.id).limit(_BATCH)).all()
        if not rows:
            return
        values = []
        for r in rows:
            h = chain_hash(prev, id=r.id, at=r.at, actor=r.actor, role=r.role,
                           action=r.action, ecg_id=r.ecg_id, detail=r.detail,
                           client=r.client)
            values.append({"rid": r.id, "p": prev, "h": h})
            prev = h
        bind.execute(events.update().where(events.c.id == sa.bindparam("rid"))
                     .values(prev_hash=sa.bindparam("p"), row_hash=sa.bindparam("h")), values)
        after = rows[-1].id


def upgrade() -> None:
    lock = op.create_table('audit_chain_lock',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('taken', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(lock, [{"id": 1, "taken": 0}])
    pg = _postgresql()
    if pg:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('row_hash', existing_type=sa.String(length=64), nullable=False)
    if pg:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION ecglens_audit_append_only()"
        )
        op.execute(
            "CREATE FUNCTION ecglens_audit_append_at_end() RETURNS trigger AS $$ BEGIN "
            "IF NEW.id IS NULL OR NEW.id <= (SELECT COALESCE(MAX(id), 0) FROM audit_events) "
            f"THEN RAISE EXCEPTION '{_MESSAGE}: a new row goes after the last one'; END IF; "
            "RETURN NEW; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_at_end BEFORE INSERT ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION ecglens_audit_append_at_end()"
        )
    else:
        # the batch above rebuilt the table (and with it dropped any trigger)
        _sqlite_update_delete_triggers()
        # fires before conflict resolution, so INSERT OR REPLACE / UPSERT on an existing id
        # is refused before SQLite deletes the old row (which would not fire the DELETE
        # trigger unless recursive_triggers is on)
        op.execute(
            "CREATE TRIGGER audit_events_append_at_end BEFORE INSERT ON audit_events "
            "WHEN NEW.id IS NULL OR NEW.id <= (SELECT COALESCE(MAX(id), 0) FROM audit_events) "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: a new row goes after the last one'); END"
        )


def downgrade() -> None:
    pg = _postgresql()
    if pg:
        op.execute("DROP TRIGGER audit_events_append_at_end ON audit_events")
        op.execute("DROP FUNCTION ecglens_audit_append_at_end()")
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
    else:
        for name in ("append_at_end", "no_update", "no_delete"):
            op.execute(f"DROP TRIGGER audit_events_{name}")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
    if not pg:
        _sqlite_update_delete_triggers()
    op.drop_table('audit_chain_lock')
