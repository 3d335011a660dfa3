"""Imported platform reports in the catalog: the ``imports`` and ``import_rows`` tables, the
SQL :class:`~backbeat.importers.sink.ImportSink`, and reading imports back.

The tables live on the catalog's own ``MetaData`` (revision 0002 creates them). Every import
belongs to one advertiser: its checksum is unique per advertiser, its rows carry the
advertiser id, and a composite foreign key ties each row to an import *of the same
advertiser*, so a row can never leak into another tenant. Deleting an import deletes its rows
(cascade); deleting an advertiser that still has imports is refused, as with campaigns.

One import is one database transaction. Rows are first spooled to a local temporary file
while the file is parsed, and the transaction opens only when the driver asks to replace
overlapping rows or to commit: on SQLite the write lock is then held for the inserts, not
for the whole parse, so the API and other writers are not locked out during a long upload.
Imports do not bump ``catalog_version``: it tells the ad server to reload serving data, and
report rows are not serving data.
"""

from __future__ import annotations

import dataclasses
import operator
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Date,
    Dialect,
    Engine,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from backbeat.errors import Conflict, NotFound
from backbeat.importers.model import ReportRow
from backbeat.importers.sink import ImportStart, ImportSummary
from backbeat.store.catalog.catalog import SqlCatalog
from backbeat.store.catalog.engine import SQLITE_BEGIN
from backbeat.store.catalog.protocol import Page
from backbeat.store.catalog.tables import UtcDateTime, advertisers, metadata


class DecimalText(TypeDecorator[Decimal]):
    """A Decimal stored as its exact text: SQLite has no exact decimal type, and rates such
    as frequency or a reported CTR must come back digit for digit."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class Status:
    """An import's status: its rows are all there, some were replaced by a later import
    whose dates overlap, or all were."""

    IMPORTING = "importing"  # only ever seen inside the import's own transaction
    IMPORTED = "imported"
    PARTLY_REPLACED = "partly_replaced"
    REPLACED = "replaced"


imports = Table(
    "imports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("advertiser_id", Integer, nullable=False, index=True),
    Column("platform", String(40), nullable=False),
    Column("account", Text, nullable=True),
    Column("checksum", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # Known once the whole file has streamed; set in the same transaction as the rows.
    Column("start_date", Date, nullable=True),
    Column("end_date", Date, nullable=True),
    Column("row_count", Integer, nullable=True),
    Column("rows_replaced", Integer, nullable=False),
    Column("currencies", JSON, nullable=False),
    Column("accounts", JSON, nullable=False),
    ForeignKeyConstraint(["advertiser_id"], [advertisers.c.id]),
    UniqueConstraint("advertiser_id", "checksum"),
    UniqueConstraint("id", "advertiser_id"),  # the target of import_rows' tenant-safe key
)

# Optional counts and exact decimals of a report row (see ReportRow for their meaning).
COUNT_COLUMNS = (
    "clicks", "clicks_all", "reach", "viewable_impressions", "views", "views_2s", "views_6s",
    "q25", "q50", "q75", "q100", "starts", "completes",
)  # fmt: skip
DECIMAL_COLUMNS = (
    "frequency", "conversions", "results", "q25_rate", "q50_rate", "q75_rate", "q100_rate",
    "reported_ctr", "reported_ctr_all", "reported_cpm", "reported_cpc", "reported_cpv",
)  # fmt: skip

import_rows = Table(
    "import_rows",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("import_id", String(32), nullable=False),
    Column("advertiser_id", Integer, nullable=False),
    Column("platform", String(40), nullable=False),
    Column("account", Text, nullable=True),
    Column("campaign", Text, nullable=False),
    Column("ad_group", Text, nullable=True),
    Column("ad", Text, nullable=True),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("impressions", BigInteger, nullable=False),
    Column("spend_micros", BigInteger, nullable=False),
    *(Column(name, BigInteger, nullable=True) for name in COUNT_COLUMNS),
    *(Column(name, DecimalText(), nullable=True) for name in DECIMAL_COLUMNS),
    Column("result_indicator", Text, nullable=True),
    Column("source_row", Integer, nullable=False),
    ForeignKeyConstraint(
        ["import_id", "advertiser_id"],
        [imports.c.id, imports.c.advertiser_id],
        ondelete="CASCADE",
    ),
)

Index("ix_import_rows_import_id", import_rows.c.import_id)
# Serves both overlap replacement and the comparison's reads.
Index(
    "ix_import_rows_scope",
    import_rows.c.advertiser_id,
    import_rows.c.platform,
    import_rows.c.account,
    import_rows.c.period_start,
)

# ReportRow attribute -> column, where they differ.
_RENAMED = {"start": "period_start", "end": "period_end"}
_FIELDS = [f.name for f in dataclasses.fields(ReportRow)]
_COLUMNS = [_RENAMED.get(n, n) for n in _FIELDS]
_GET = operator.attrgetter(*_FIELDS)
_ROW_COLUMNS = [import_rows.c[name] for name in _COLUMNS]


def row_values(import_id: str, advertiser_id: int, row: ReportRow) -> dict[str, Any]:
    """The ``import_rows`` values of one report row."""
    values = dict(zip(_COLUMNS, _GET(row), strict=True))
    values["import_id"] = import_id
    values["advertiser_id"] = advertiser_id
    return values


_INSERT_KEYS = ("import_id", "advertiser_id", *_COLUMNS)


def _driver_rows(
    import_id: str, advertiser_id: int, rows: Sequence[ReportRow], *, iso_dates: bool
) -> list[tuple[Any, ...]]:
    """Rows as the database driver takes them, in ``_INSERT_KEYS`` order: Decimals as text,
    and dates as ISO text where SQLite stores them so. Converting here, once, lets the
    insert skip SQLAlchemy's per-value processing, which costs more than the insert itself."""
    out = []
    for row in rows:
        values: list[Any] = [import_id, advertiser_id]
        for value in _GET(row):
            if isinstance(value, Decimal) or (iso_dates and isinstance(value, date)):
                value = str(value)  # noqa: PLW2901 - converting in place is the point
            values.append(value)
        out.append(tuple(values))
    return out


def _insert_many(conn: Connection, batch: list[tuple[Any, ...]]) -> None:
    """Insert a batch in the connection's transaction: COPY on PostgreSQL (psycopg), one
    executemany elsewhere."""
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw: Any = conn.connection.dbapi_connection
        columns = ", ".join(f'"{k}"' for k in _INSERT_KEYS)
        with raw.cursor() as cur, cur.copy(f"COPY import_rows ({columns}) FROM STDIN") as copy:
            for record in batch:
                copy.write_row(record)
        return
    compiled = insert(import_rows).compile(dialect=conn.dialect, column_keys=list(_INSERT_KEYS))
    if compiled.positional:
        order = [_INSERT_KEYS.index(k) for k in compiled.positiontup or ()]
        params: list[Any] = [tuple(r[i] for i in order) for r in batch]
    else:
        params = [dict(zip(_INSERT_KEYS, r, strict=True)) for r in batch]
    conn.exec_driver_sql(str(compiled), params)


def row_from(record: Sequence[Any]) -> ReportRow:
    """A report row from the values of ``_ROW_COLUMNS``, in that order."""
    return ReportRow(**dict(zip(_FIELDS, record, strict=True)))


@dataclass(frozen=True)
class ImportRecord:
    """One committed import, as listed by the API and the CLI."""

    id: str
    advertiser_id: int
    platform: str
    account: str | None
    checksum: str
    source: str
    status: str
    created_at: datetime
    start: date | None
    end: date | None
    rows: int
    rows_replaced: int
    currencies: tuple[str, ...]
    accounts: tuple[str | None, ...]

    @property
    def rows_stored(self) -> int:
        return self.rows - self.rows_replaced


def _record(m: Any) -> ImportRecord:
    return ImportRecord(
        id=m["id"],
        advertiser_id=m["advertiser_id"],
        platform=m["platform"],
        account=m["account"],
        checksum=m["checksum"],
        source=m["source"],
        status=m["status"],
        created_at=m["created_at"],
        start=m["start_date"],
        end=m["end_date"],
        rows=m["row_count"] or 0,
        rows_replaced=m["rows_replaced"],
        currencies=tuple(m["currencies"]),
        accounts=tuple(m["accounts"]),
    )


def _engine(target: Engine | SqlCatalog) -> Engine:
    return target.engine if isinstance(target, SqlCatalog) else target


def _begin(engine: Engine) -> tuple[Connection, Any]:
    """A connection with an open write transaction (SQLite: BEGIN IMMEDIATE)."""
    conn = engine.connect()
    if engine.dialect.name == "sqlite":
        conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
    return conn, conn.begin()


class SqlImportTransaction:
    """One import: rows spool to a temporary file, then go to the catalog in one transaction."""

    def __init__(self, sink: SqlImportSink, start: ImportStart) -> None:
        self._sink = sink
        self.start = start
        self._spool: IO[bytes] | None = tempfile.TemporaryFile(  # noqa: SIM115 - closed in _finish
            prefix="backbeat-import-"
        )
        self._conn: Connection | None = None
        self._trans: Any = None
        self._ended = False

    def _require_open(self) -> None:
        if self._ended:
            raise RuntimeError("this import's transaction has ended")

    def write(self, rows: Sequence[ReportRow]) -> None:
        self._require_open()
        assert self._spool is not None
        sqlite = self._sink.engine.dialect.name == "sqlite"
        batch = _driver_rows(self.start.import_id, self._sink.advertiser_id, rows, iso_dates=sqlite)
        pickle.dump(batch, self._spool)

    def _connection(self) -> Connection:
        """The import's transaction, opened on first use with the import's own record."""
        self._require_open()
        if self._conn is not None:
            return self._conn
        self._conn, self._trans = _begin(self._sink.engine)
        s = self.start
        try:
            self._conn.execute(
                insert(imports).values(
                    id=s.import_id,
                    advertiser_id=self._sink.advertiser_id,
                    platform=s.platform,
                    account=s.account,
                    checksum=s.checksum,
                    source=s.source,
                    status=Status.IMPORTING,
                    created_at=datetime.now(UTC),
                    rows_replaced=0,
                    currencies=[],
                    accounts=[],
                )
            )
        except IntegrityError:
            self.rollback()
            raise Conflict(f"a file with checksum {s.checksum} is already imported") from None
        return self._conn

    def replace_range(self, account: str | None, platform: str, start: date, end: date) -> int:
        conn = self._connection()
        r = import_rows.c
        where = and_(
            r.advertiser_id == self._sink.advertiser_id,
            r.platform == platform,
            r.account.is_(None) if account is None else r.account == account,
            r.import_id != self.start.import_id,
            r.period_start <= end,
            r.period_end >= start,
        )
        hits = conn.execute(
            select(r.import_id, func.count()).where(where).group_by(r.import_id)
        ).all()
        if not hits:
            return 0
        conn.execute(delete(import_rows).where(where))
        i = imports.c
        for import_id, n in hits:
            total, replaced = conn.execute(
                select(i.row_count, i.rows_replaced).where(i.id == import_id)
            ).one()
            replaced += int(n)
            status = Status.REPLACED if replaced >= (total or 0) else Status.PARTLY_REPLACED
            conn.execute(
                update(imports)
                .where(i.id == import_id)
                .values(rows_replaced=replaced, status=status)
            )
        return sum(int(n) for _, n in hits)

    def commit(self, summary: ImportSummary) -> None:
        conn = self._connection()
        assert self._spool is not None
        self._spool.seek(0)
        while True:
            try:
                batch = pickle.load(self._spool)  # noqa: S301 - our own file, written above
            except EOFError:
                break
            _insert_many(conn, batch)
        conn.execute(
            update(imports)
            .where(imports.c.id == self.start.import_id)
            .values(
                status=Status.IMPORTED,
                start_date=summary.start,
                end_date=summary.end,
                row_count=summary.rows,
                currencies=list(summary.currencies),
                accounts=list(summary.accounts),
            )
        )
        self._trans.commit()  # if this fails the transaction stays open for rollback()
        self._finish()

    def rollback(self) -> None:
        if self._ended:
            return
        try:
            if self._trans is not None and self._trans.is_active:
                self._trans.rollback()
        finally:
            self._finish()

    def _finish(self) -> None:
        self._ended = True
        self._sink.active = None
        if self._conn is not None:
            self._conn.close()
        if self._spool is not None:
            self._spool.close()
            self._spool = None


class SqlImportSink:
    """An :class:`~backbeat.importers.sink.ImportSink` storing one advertiser's imports in the
    catalog. One import at a time per sink object; make one per request."""

    def __init__(self, target: Engine | SqlCatalog, advertiser_id: int) -> None:
        self.engine = _engine(target)
        self.advertiser_id = advertiser_id
        self.active: SqlImportTransaction | None = None

    def has_checksum(self, checksum: str) -> bool:
        stmt = select(imports.c.id).where(
            imports.c.advertiser_id == self.advertiser_id, imports.c.checksum == checksum
        )
        with self.engine.connect() as conn:
            return conn.execute(stmt).first() is not None

    def begin(self, start: ImportStart) -> SqlImportTransaction:
        if self.active is not None:
            raise RuntimeError("an import is already in progress on this sink")
        with self.engine.connect() as conn:
            found = conn.execute(
                select(advertisers.c.id).where(advertisers.c.id == self.advertiser_id)
            ).first()
        if found is None:
            raise NotFound("advertiser", self.advertiser_id)
        self.active = SqlImportTransaction(self, start)
        return self.active


class ImportStore:
    """Reading and deleting imports. Every method takes the tenant to look in; an import of
    another advertiser is answered exactly like a missing one."""

    def __init__(self, target: Engine | SqlCatalog) -> None:
        self.engine = _engine(target)

    def sink(self, advertiser_id: int) -> SqlImportSink:
        return SqlImportSink(self.engine, advertiser_id)

    def _where(self, advertiser_id: int | None) -> list[ColumnElement[bool]]:
        clauses = [imports.c.status != Status.IMPORTING]
        if advertiser_id is not None:
            clauses.append(imports.c.advertiser_id == advertiser_id)
        return clauses

    def page(
        self, advertiser_id: int | None, *, limit: int = 50, offset: int = 0
    ) -> Page[ImportRecord]:
        """Imports, newest first; ``advertiser_id`` None lists every tenant's (admins)."""
        where = self._where(advertiser_id)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(imports).where(*where))
            count = int(total.scalar_one())
            found = conn.execute(
                select(imports)
                .where(*where)
                .order_by(imports.c.created_at.desc(), imports.c.id)
                .limit(limit)
                .offset(offset)
            ).mappings()
            items = [_record(m) for m in found]
        return Page(items, count, limit, offset)

    def get(self, import_id: str, advertiser_id: int | None) -> ImportRecord:
        """One import; NotFound when missing or another tenant's."""
        where = [*self._where(advertiser_id), imports.c.id == import_id]
        with self.engine.connect() as conn:
            found = conn.execute(select(imports).where(*where)).mappings().first()
        if found is None:
            raise NotFound("import", import_id)
        return _record(found)

    def delete(self, import_id: str, advertiser_id: int | None) -> int:
        """Delete an import and its rows; return how many rows went with it."""
        where = [*self._where(advertiser_id), imports.c.id == import_id]
        conn, trans = _begin(self.engine)
        try:
            rows = conn.execute(
                select(func.count())
                .select_from(import_rows)
                .where(import_rows.c.import_id == import_id)
            ).scalar_one()
            if conn.execute(delete(imports).where(*where)).rowcount == 0:
                raise NotFound("import", import_id)
            trans.commit()
        finally:
            if trans.is_active:
                trans.rollback()
            conn.close()
        return int(rows)

    def count_rows(self, advertiser_id: int, import_id: str | None = None) -> int:
        """Stored rows of one advertiser, in all imports or in one."""
        where = [import_rows.c.advertiser_id == advertiser_id]
        if import_id is not None:
            where.append(import_rows.c.import_id == import_id)
        with self.engine.connect() as conn:
            stmt = select(func.count()).select_from(import_rows).where(*where)
            return int(conn.execute(stmt).scalar_one())

    def rows(
        self,
        advertiser_id: int,
        *,
        platforms: Iterable[str] = (),
        campaigns: Iterable[str] = (),
        start: date | None = None,
        end: date | None = None,
    ) -> Iterator[ReportRow]:
        """Stored rows of one advertiser whose period overlaps ``start..end`` (inclusive),
        optionally for some platforms and campaigns, in import and file order."""
        r = import_rows.c
        where: list[ColumnElement[bool]] = [r.advertiser_id == advertiser_id]
        wanted_platforms, wanted_campaigns = sorted(set(platforms)), sorted(set(campaigns))
        if wanted_platforms:
            where.append(r.platform.in_(wanted_platforms))
        if wanted_campaigns:
            where.append(r.campaign.in_(wanted_campaigns))
        if start is not None:
            where.append(r.period_end >= start)
        if end is not None:
            where.append(r.period_start <= end)
        stmt = select(*_ROW_COLUMNS).where(*where).order_by(r.id)
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(stmt)
            for record in result:
                yield row_from(record)
