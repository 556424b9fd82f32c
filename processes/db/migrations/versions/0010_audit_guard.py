"""audit trail protected in the database: triggers refuse UPDATE and DELETE except sealing and purging

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 09:00:00

* audit_log: an UPDATE passes only when it seals an unsealed row (seq, chain_hash, sealed_at set; nothing else
  changes); a DELETE passes only for a sealed row while `hotline audit purge` holds the purge gate (a row in
  audit_purge_gate it inserts and removes inside its own transaction; PostgreSQL binds it to that transaction id).
* audit_chain_head: never deleted; its seq only grows, its hash changes only with seq, and the checkpoint moves
  only forward under the purge gate.
* audit_log.result also accepts 'alert' (security alerts such as a third concurrent session).

The triggers hold against the table owner too; only DDL (dropping them) gets past, so run the app as a role that
owns nothing (`hotline db grant-app-role`). The SQL is frozen here, not imported, like every migration.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OLD_RESULTS = "result IN ('success', 'failure', 'denied')"
NEW_RESULTS = "result IN ('success', 'failure', 'denied', 'alert')"
# Every audit_log column except the seal (seq, chain_hash, sealed_at): SQLite compares them one by one.
CONTENT = ('id', 'at', 'actor', 'role', 'source_ip', 'session_hash', 'action', 'object_type', 'object_id',
           '"before"', '"after"', 'result', 'request_id', 'detail')

PG_LOG_GUARD = """
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.chain_hash IS NOT NULL
           AND to_jsonb(NEW) - 'seq' - 'chain_hash' - 'sealed_at'
               = to_jsonb(OLD) - 'seq' - 'chain_hash' - 'sealed_at' THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only: only sealing may update a record (id %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.seq IS NOT NULL AND EXISTS (SELECT 1 FROM audit_purge_gate WHERE txid = txid_current()) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: only hotline audit purge may delete a record (id %)', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
"""

PG_HEAD_GUARD = """
CREATE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_chain_head cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash IS DISTINCT FROM OLD.hash) THEN
        RAISE EXCEPTION 'audit_chain_head: the head only moves forward' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.checkpoint_seq, NEW.checkpoint_hash, NEW.checkpoint_at)
           IS DISTINCT FROM (OLD.checkpoint_seq, OLD.checkpoint_hash, OLD.checkpoint_at)
       AND (NEW.checkpoint_seq < OLD.checkpoint_seq
            OR NOT EXISTS (SELECT 1 FROM audit_purge_gate WHERE txid = txid_current())) THEN
        RAISE EXCEPTION 'audit_chain_head: only hotline audit purge moves the checkpoint'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_chain_head_guard BEFORE UPDATE OR DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard();
"""

_CHANGED = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT)
SQLITE_GUARDS = (
    "CREATE TRIGGER audit_log_guard_update BEFORE UPDATE ON audit_log "
    f"WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR NEW.chain_hash IS NULL OR {_CHANGED} "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: only sealing may update a record'); END",
    "CREATE TRIGGER audit_log_guard_delete BEFORE DELETE ON audit_log "
    "WHEN OLD.seq IS NULL OR NOT EXISTS (SELECT 1 FROM audit_purge_gate) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: only hotline audit purge may delete a record'); END",
    "CREATE TRIGGER audit_chain_head_guard_delete BEFORE DELETE ON audit_chain_head "
    "BEGIN SELECT RAISE(ABORT, 'audit_chain_head cannot be deleted'); END",
    "CREATE TRIGGER audit_chain_head_guard_update BEFORE UPDATE ON audit_chain_head "
    "WHEN NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash IS NOT OLD.hash) "
    "OR ((NEW.checkpoint_seq IS NOT OLD.checkpoint_seq OR NEW.checkpoint_hash IS NOT OLD.checkpoint_hash "
    "OR NEW.checkpoint_at IS NOT OLD.checkpoint_at) "
    "AND (NEW.checkpoint_seq < OLD.checkpoint_seq OR NOT EXISTS (SELECT 1 FROM audit_purge_gate))) "
    "BEGIN SELECT RAISE(ABORT, 'audit_chain_head: the head only moves forward, the checkpoint only by purge'); END",
)
SQLITE_TRIGGERS = ('audit_log_guard_update', 'audit_log_guard_delete', 'audit_chain_head_guard_delete',
                   'audit_chain_head_guard_update')


def _results(condition: str) -> None:
    # SQLite rebuilds the table for a new CHECK; keep AUTOINCREMENT, so ids of purged rows are never reused.
    with op.batch_alter_table('audit_log', table_kwargs={'sqlite_autoincrement': True}) as batch:
        batch.drop_constraint(op.f('ck_audit_log_result'), type_='check')
        batch.create_check_constraint(op.f('ck_audit_log_result'), condition)


def upgrade() -> None:
    op.create_table(
        'audit_purge_gate',
        sa.Column('txid', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('txid', name=op.f('pk_audit_purge_gate')),
    )
    _results(NEW_RESULTS)  # before the triggers: a SQLite rebuild would drop them
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_LOG_GUARD)
        op.execute(PG_HEAD_GUARD)
    else:
        for statement in SQLITE_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_chain_head_guard ON audit_chain_head')
        op.execute('DROP FUNCTION IF EXISTS audit_chain_head_guard()')
        op.execute('DROP TRIGGER IF EXISTS audit_log_guard ON audit_log')
        op.execute('DROP FUNCTION IF EXISTS audit_log_guard()')
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
    _results(OLD_RESULTS)  # fails while 'alert' rows exist: they cannot be dropped
    op.drop_table('audit_purge_gate')
