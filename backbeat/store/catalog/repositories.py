"""Repositories over the catalog tables, speaking domain objects only.

One generic :class:`SqlRepository` does CRUD and paging for every kind; a :class:`Spec` says
which table, how to convert rows, which column ``q`` searches and any virtual filters. Each
write runs inside a savepoint together with the catalog version bump, so a failed write
leaves the surrounding unit of work usable (PostgreSQL would otherwise abort it) and bumps
nothing; integrity errors become :class:`~backbeat.errors.Conflict`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from backbeat.domain.accounts import ApiToken, User
from backbeat.errors import NotFound
from backbeat.store.catalog.conflicts import to_conflict
from backbeat.store.catalog.convert import (
    Row,
    email_key,
    token_from,
    token_row,
    user_from,
    user_row,
)
from backbeat.store.catalog.filters import Virtual, build_order, build_where
from backbeat.store.catalog.protocol import Page
from backbeat.store.catalog.tables import KIND, api_tokens, users
from backbeat.store.catalog.txn import Transactions


class Identified(Protocol):
    @property
    def id(self) -> int | None: ...


T = TypeVar("T", bound=Identified)


@dataclass(frozen=True)
class Spec(Generic[T]):
    """How one kind of domain object lives in one table."""

    table: Table
    to_row: Callable[[T], dict[str, Any]]
    from_row: Callable[[Row], T]
    search: str = "name"
    virtual: Mapping[str, Virtual] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return KIND[self.table.name]


class SqlRepository(Generic[T]):
    """CRUD and paging over one table; implements ``protocol.Repository[T]``."""

    def __init__(self, tx: Transactions, spec: Spec[T]) -> None:
        self._tx = tx
        self._spec = spec
        self._t = spec.table

    def add(self, obj: T) -> T:
        """Insert `obj` and return the stored copy. Any `id` on `obj` is ignored (the database
        assigns one); a missing `created_at` becomes now (UTC)."""
        values = self._spec.to_row(obj)
        if values.get("created_at") is None:
            values["created_at"] = datetime.now(UTC)
        stmt = insert(self._t).values(values).returning(*self._t.c)
        with self._tx.unit(write=True) as conn:
            row = self._write(conn, values, None, lambda: conn.execute(stmt).mappings().one())
        return self._spec.from_row(row)

    def get(self, ident: int) -> T:
        found = self.find(ident)
        if found is None:
            raise NotFound(self._spec.kind, ident)
        return found

    def find(self, ident: int) -> T | None:
        with self._tx.unit(write=False) as conn:
            row = conn.execute(select(self._t).where(self._t.c.id == ident)).mappings().first()
        return None if row is None else self._spec.from_row(row)

    def update(self, obj: T) -> T:
        """Replace the stored row with `obj` (by id); `created_at` is never changed."""
        ident = obj.id
        if ident is None:
            raise ValueError(f"cannot update a {self._spec.kind} without an id")
        values = self._spec.to_row(obj)
        values.pop("created_at", None)
        stmt = update(self._t).where(self._t.c.id == ident).values(values).returning(*self._t.c)

        def run(conn: Connection) -> Row:
            row = conn.execute(stmt).mappings().first()
            if row is None:
                raise NotFound(self._spec.kind, ident)
            return row

        with self._tx.unit(write=True) as conn:
            row = self._write(conn, values, ident, lambda: run(conn))
        return self._spec.from_row(row)

    def delete(self, ident: int) -> None:
        stmt = delete(self._t).where(self._t.c.id == ident)

        def run(conn: Connection) -> None:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound(self._spec.kind, ident)

        with self._tx.unit(write=True) as conn:
            self._write(conn, {}, ident, lambda: run(conn))

    def page(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        order: str = "id",
        where: Mapping[str, object] | None = None,
    ) -> Page[T]:
        """One page of matches in `order` (``"-name"`` for descending) and the total count."""
        if limit < 0 or offset < 0:
            raise ValueError(f"limit and offset must not be negative (got {limit}, {offset})")
        conds = self._where(where)
        order_by = build_order(self._t, order)
        rows_q = select(self._t).where(*conds).order_by(*order_by).limit(limit).offset(offset)
        count_q = select(func.count()).select_from(self._t).where(*conds)
        with self._tx.unit(write=False, snapshot=True) as conn:
            total = int(conn.execute(count_q).scalar_one())
            rows = conn.execute(rows_q).mappings().all() if limit else []
        return Page([self._spec.from_row(r) for r in rows], total, limit, offset)

    def all(self, where: Mapping[str, object] | None = None) -> list[T]:
        """Every match, by id."""
        stmt = select(self._t).where(*self._where(where)).order_by(self._t.c.id)
        with self._tx.unit(write=False) as conn:
            rows = conn.execute(stmt).mappings().all()
        return [self._spec.from_row(r) for r in rows]

    def _where(self, where: Mapping[str, object] | None) -> list[Any]:
        return build_where(self._t, where, search=self._spec.search, virtual=self._spec.virtual)

    def _write(
        self,
        conn: Connection,
        values: Mapping[str, Any],
        ident: int | None,
        run: Callable[[], Any],
    ) -> Any:
        """Run one write and the version bump in a savepoint; explain integrity errors."""
        try:
            with conn.begin_nested():
                result = run()
                self._tx.bump(conn)
        except IntegrityError as exc:
            conflict = to_conflict(conn, self._t, exc, values, ident)
            if conflict is None:
                raise
            raise conflict from None
        return result


class SqlUserRepository(SqlRepository[User]):
    """Users; ``q`` searches the email, and emails are unique regardless of case."""

    def __init__(self, tx: Transactions) -> None:
        super().__init__(tx, Spec(users, user_row, user_from, search="email"))

    def by_email(self, email: str) -> User | None:
        stmt = select(users).where(users.c.email_key == email_key(email))
        with self._tx.unit(write=False) as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else user_from(row)


class SqlTokenRepository(SqlRepository[ApiToken]):
    """API tokens, found by the hash of the presented secret."""

    def __init__(self, tx: Transactions) -> None:
        super().__init__(tx, Spec(api_tokens, token_row, token_from))

    def by_hash(self, token_hash: str) -> ApiToken | None:
        stmt = select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        with self._tx.unit(write=False) as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else token_from(row)

    def touch(self, ident: int, when: datetime) -> None:
        """Record a use of the token. This runs on every authenticated request and changes
        nothing the ad server reads, so unlike other writes it leaves the version alone
        (a bump would make the serving index rebuild on each API call)."""
        stmt = update(api_tokens).where(api_tokens.c.id == ident).values(last_used_at=when)
        with self._tx.unit(write=True) as conn:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound("token", ident)
