"""credits as BIGINT, the owner's cost per job, inputs stored once by content hash

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CREDIT_COLUMNS = {
    'account': [('balance', False)],
    'ledger_entry': [('amount', False), ('balance_after', False)],
    'job': [('cost', False)],
    'campaign': [('credits_per_member', False), ('budget', True)],
    'guild_settings': [
        ('starting_balance', True),
        ('allowance_amount', False),
        ('allowance_cap', True),
        ('daily_credit_cap', True),
    ],
}


def _widen_credits(to: type[sa.types.TypeEngine[int]], was: type[sa.types.TypeEngine[int]]) -> None:
    # SQLite's INTEGER already holds 64 bits, and changing the declared type would copy and drop
    # tables that other rows point at: only PostgreSQL needs (and gets) the change.
    if op.get_bind().dialect.name == 'sqlite':
        return
    for table, columns in _CREDIT_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, nullable in columns:
                batch_op.alter_column(name, existing_type=was(), type_=to(), existing_nullable=nullable)


def upgrade() -> None:
    _widen_credits(sa.BigInteger, sa.Integer)
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('catalog_cost', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index('ix_job_created_at', ['created_at'], unique=False)
    # Jobs made before: the owner's cost is unknown; what the member paid is the best estimate.
    op.execute("UPDATE job SET catalog_cost = cost")

    op.create_table('stored_file',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mime', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('hosted_url', sa.Text(), nullable=True),
    sa.Column('hosted_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    with op.batch_alter_table('job_input', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))

    # Move each input's bytes into stored_file, once per content.
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, mime, data, hosted_url, hosted_until FROM job_input")).all()
    seen: set[str] = set()
    now = sa.func.now() if bind.dialect.name == 'postgresql' else sa.text("CURRENT_TIMESTAMP")
    for row_id, mime, data, hosted_url, hosted_until in rows:
        digest = hashlib.sha256(bytes(data)).hexdigest()
        if digest not in seen:
            seen.add(digest)
            bind.execute(
                sa.insert(sa.table('stored_file', sa.column('sha256'), sa.column('mime'), sa.column('size'),
                                   sa.column('data'), sa.column('hosted_url'), sa.column('hosted_until'),
                                   sa.column('created_at')))
                .values(sha256=digest, mime=mime, size=len(data), data=bytes(data), hosted_url=hosted_url,
                        hosted_until=hosted_until, created_at=now)
            )
        bind.execute(sa.text("UPDATE job_input SET sha256 = :d WHERE id = :i"), {"d": digest, "i": row_id})

    with op.batch_alter_table('job_input', schema=None) as batch_op:
        batch_op.alter_column('sha256', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f('ix_job_input_sha256'), ['sha256'], unique=False)
        batch_op.create_foreign_key('fk_job_input_sha256_stored_file', 'stored_file', ['sha256'], ['sha256'])
        batch_op.drop_column('hosted_until')
        batch_op.drop_column('hosted_url')
        batch_op.drop_column('data')
        batch_op.drop_column('mime')


def downgrade() -> None:
    with op.batch_alter_table('job_input', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mime', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('data', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('hosted_url', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('hosted_until', storage.types.UTCDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE job_input SET mime = (SELECT mime FROM stored_file s WHERE s.sha256 = job_input.sha256), "
        "data = (SELECT data FROM stored_file s WHERE s.sha256 = job_input.sha256)"
    )
    with op.batch_alter_table('job_input', schema=None) as batch_op:
        batch_op.drop_constraint('fk_job_input_sha256_stored_file', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_job_input_sha256'))
        batch_op.drop_column('sha256')
        batch_op.alter_column('mime', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=False)
    op.drop_table('stored_file')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_created_at')
        batch_op.drop_column('catalog_cost')
    _widen_credits(sa.Integer, sa.BigInteger)
