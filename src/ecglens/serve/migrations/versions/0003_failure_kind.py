"""ecgs.failure_kind: why a failed ECG failed (bad_file, interrupted, error)

A bad file is permanent (the reader refused it); an interrupted or erroring job can be queued
again by hand (``POST /ecgs/{id}/retry``, ``ecglens retry``). ECGs that failed before this
column existed get their kind from the stored reason.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ecgs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failure_kind', sa.String(length=16), nullable=True))
    ecgs = sa.table('ecgs', sa.column('status', sa.String), sa.column('error', sa.Text),
                    sa.column('failure_kind', sa.String))
    failed = ecgs.c.status == 'failed'
    op.execute(ecgs.update().where(failed, ecgs.c.error.like('cannot read the file%'))
               .values(failure_kind='bad_file'))
    op.execute(ecgs.update().where(failed, ecgs.c.error.like('processing was interrupted%'))
               .values(failure_kind='interrupted'))
    op.execute(ecgs.update().where(failed, ecgs.c.failure_kind.is_(None))
               .values(failure_kind='error'))


def downgrade() -> None:
    with op.batch_alter_table('ecgs', schema=None) as batch_op:
        batch_op.drop_column('failure_kind')
