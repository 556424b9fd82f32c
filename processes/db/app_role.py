"""Least-privilege PostgreSQL role for the app (最小权限数据库账号, AUD-02 / CFG-02 / S4.4).

Migrations run as the owner of the tables; web workers and schedulers connect as an app role that owns nothing,
so it can neither drop the audit triggers nor alter tables. The app role may read and write the business tables,
only INSERT and SELECT the audit trail plus UPDATE of the seal columns the sealer sets, and nothing on the purge
gate, so `hotline audit purge` runs as the owner. The triggers hold against the owner as well.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy import Connection

from processes.db.schema import METADATA

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Audit tables: SELECT and INSERT, and UPDATE of the seal columns only (the sealer); never DELETE or TRUNCATE.
APPEND_ONLY = {"audit_log": ("seq", "chain_hash", "sealed_at"), "audit_chain_head": ("seq", "hash", "sealed_at")}
NO_ACCESS = frozenset({"audit_purge_gate"})  # only the owner opens the purge gate
READ_ONLY = ("alembic_version",)


class RoleRefused(ValueError):
    """The role cannot be made the app role (unknown, superuser, owner of tables, a bad name, not PostgreSQL)."""


def grant_statements(role: str, schema: str, tables: list[str]) -> list[str]:
    """Return the REVOKE and GRANT statements that make `role` the app role on these tables (names pre-checked)."""
    statements = [f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
                  f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
                  f"REVOKE CREATE ON SCHEMA {schema} FROM {role}",
                  f"GRANT USAGE ON SCHEMA {schema} TO {role}"]
    for table in tables:
        if table in NO_ACCESS:
            continue
        if table in APPEND_ONLY:
            statements.append(f"GRANT SELECT, INSERT ON {table} TO {role}")
            statements.append(f"GRANT UPDATE ({', '.join(APPEND_ONLY[table])}) ON {table} TO {role}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
    statements += [f"GRANT SELECT ON {table} TO {role}" for table in READ_ONLY]
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
    return statements


def grant_app_role(conn: Connection, role: str) -> list[str]:
    """Make an existing role the app role in the caller's transaction; return the statements run.

    :raises RoleRefused: not PostgreSQL, a malformed or unknown role, a superuser, or a role owning tables
    """
    if conn.dialect.name != "postgresql":
        raise RoleRefused("database roles exist on PostgreSQL only (SQLite has no users)")
    if not ROLE_NAME.match(role):
        raise RoleRefused("role names are lower-case letters, digits and _ (max 63)")
    found = conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if found is None:
        raise RoleRefused(f"role {role} does not exist; create it first (CREATE ROLE {role} LOGIN PASSWORD …)")
    if found.rolsuper:
        raise RoleRefused(f"role {role} is a superuser; grants would not limit it")
    schema = str(conn.scalar(sa.text("SELECT current_schema()")))
    owned = conn.scalar(sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = :s AND tableowner = :r"),
                        {"s": schema, "r": role})
    if owned:
        raise RoleRefused(f"role {role} owns {owned} table(s) and could drop the audit triggers; "
                          "run migrations as a separate owner role")
    quote = conn.dialect.identifier_preparer.quote
    tables = [quote(t.name) for t in METADATA.sorted_tables]
    statements = grant_statements(quote(role), quote(schema), tables)
    for statement in statements:
        conn.execute(sa.text(statement))
    return statements
