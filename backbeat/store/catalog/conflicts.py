"""Turn database integrity errors into :class:`~backbeat.errors.Conflict` naming the field.

PostgreSQL names the violated constraint; SQLite names the columns of a unique violation but
says nothing about which foreign key failed. So for foreign keys we ask the database, on the
same connection after the failed statement's savepoint is rolled back, which parent is
missing (on insert/update) or which children still point at the row (on delete or update).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, ForeignKeyConstraint, Table, UniqueConstraint, and_, select
from sqlalchemy.exc import IntegrityError

from backbeat.errors import Conflict, FieldError
from backbeat.store.catalog.tables import KIND

# (table, column) -> (field the API knows, reason). Other unique columns get a generic reason.
UNIQUE_FIELDS: dict[tuple[str, str], tuple[str, str]] = {
    ("users", "email_key"): ("email", "is already taken"),
    ("sites", "domain"): ("domain", "is already registered"),
    ("api_tokens", "token_hash"): ("token_hash", "already exists"),
}

_PG_UNIQUE = "23505"
_PG_FOREIGN_KEY = "23503"


def _sqlstate(exc: IntegrityError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def _is_unique(exc: IntegrityError) -> bool:
    return _sqlstate(exc) == _PG_UNIQUE or "UNIQUE constraint failed" in str(exc.orig)


def _is_foreign_key(exc: IntegrityError) -> bool:
    return _sqlstate(exc) == _PG_FOREIGN_KEY or "FOREIGN KEY constraint failed" in str(exc.orig)


def _unique_columns(table: Table, exc: IntegrityError) -> list[str]:
    """The columns of the violated unique constraint, from PostgreSQL's diagnostics or from
    SQLite's message ("UNIQUE constraint failed: users.email_key")."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        for cons in table.constraints:
            if isinstance(cons, UniqueConstraint) and cons.name == name:
                return [c.name for c in cons.columns]
        return []
    text = str(exc.orig)
    _, _, cols = text.partition("UNIQUE constraint failed:")
    return [part.strip().rpartition(".")[2] for part in cols.split(",") if part.strip()]


def unique_conflict(table: Table, exc: IntegrityError) -> Conflict:
    cols = _unique_columns(table, exc)
    column = cols[0] if cols else "id"
    field, reason = UNIQUE_FIELDS.get((table.name, column), (column, "already exists"))
    return Conflict(f"{field} {reason}", [FieldError(field, reason)])


def missing_parent(conn: Connection, table: Table, values: Mapping[str, Any]) -> Conflict | None:
    """The first foreign key of `values` whose parent row does not exist, as a Conflict."""
    fks = sorted(table.foreign_key_constraints, key=lambda fk: len(fk.columns))
    for fk in fks:
        local = [c.name for c in fk.columns]
        if any(values.get(name) is None for name in local):
            continue
        parent = fk.referred_table
        refs = [el.column for el in fk.elements]
        match = and_(*(ref == values[name] for ref, name in zip(refs, local, strict=True)))
        if conn.execute(select(1).select_from(parent).where(match).limit(1)).first():
            continue
        field, first = local[0], values[local[0]]
        kind = KIND.get(parent.name, parent.name)
        if len(local) == 1:
            reason = f"no {kind} {first}"
        else:
            others = ", ".join(f"{name}={values[name]}" for name in local[1:])
            reason = f"{kind} {first} does not match {others}"
        return Conflict(f"{field}: {reason}", [FieldError(field, reason)])
    return None


def _child_fks(table: Table) -> list[ForeignKeyConstraint]:
    """Foreign keys in other tables that point at `table` and block deleting its rows."""
    out = []
    for other in sorted(table.metadata.tables.values(), key=lambda t: t.name):
        for fk in other.foreign_key_constraints:
            if fk.referred_table is table and (fk.ondelete or "").upper() != "CASCADE":
                out.append(fk)
    return out


def existing_children(
    conn: Connection, table: Table, ident: int, *, deleting: bool
) -> Conflict | None:
    """A Conflict naming the first kind of child row that still references row `ident`.
    On delete the field is ``id``; on update it is the referenced column that changed
    (a campaign's ``advertiser_id`` while its creatives point at the old pair)."""
    kind = KIND.get(table.name, table.name)
    for fk in _child_fks(table):
        by_id = [el.parent for el in fk.elements if el.column.name == "id"]
        if not by_id:
            continue
        child = fk.parent
        found = conn.execute(select(1).select_from(child).where(by_id[0] == ident).limit(1))
        if found.first():
            others = [el.column.name for el in fk.elements if el.column.name != "id"]
            field = others[0] if others and not deleting else "id"
            reason = f"{kind} has {child.name}"
            return Conflict(reason, [FieldError(field, reason)])
    return None


def to_conflict(
    conn: Connection,
    table: Table,
    exc: IntegrityError,
    values: Mapping[str, Any],
    ident: int | None,
) -> Conflict | None:
    """Explain `exc`, or return None when it is not a unique or foreign-key violation (a NOT
    NULL failure is a programming error and should surface as such)."""
    if _is_unique(exc):
        return unique_conflict(table, exc)
    if not _is_foreign_key(exc):
        return None
    found = missing_parent(conn, table, values)
    if found is None and ident is not None:
        found = existing_children(conn, table, ident, deleting=not values)
    if found is None:
        kind = KIND.get(table.name, table.name)
        found = Conflict(f"{kind} conflicts with related records")
    return found
