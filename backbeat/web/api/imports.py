"""Report imports and the cross-platform comparison: upload an export, list, show and delete
imports, compare platforms and campaigns.

``POST /imports`` streams the multipart upload to a temporary file, refusing it past
:data:`MAX_IMPORT_BYTES` while it arrives (never after it has filled the disk), then runs the
importer with the catalog sink. It answers 201 with the import report, 200 when the same
file was imported before (nothing changes), or 422 with every problem's row and column.
Imports belong to an advertiser: advertisers see their own, admins name one, publishers get 403.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from backbeat.analytics.benchmarks import Benchmark
from backbeat.errors import BackbeatError, NotFound, PayloadTooLarge, ValidationFailed
from backbeat.importers.compare import (
    Check,
    CompareQuery,
    Comparison,
    CurrencyFigures,
    Line,
    Rate,
    compare,
)
from backbeat.importers.driver import import_file
from backbeat.importers.errors import ImportFailed
from backbeat.importers.model import RowProblem
from backbeat.importers.report import ImportReport
from backbeat.store.catalog.imports import ImportRecord, ImportStore
from backbeat.web.api.common import PageOut, money
from backbeat.web.api.deps import CatalogDep, ScopeDep, SettingsDep
from backbeat.web.api.tenancy import Scope
from backbeat.web.bodies import capped

router = APIRouter(tags=["imports"])

MAX_IMPORT_BYTES = 250 * 1024 * 1024
MAX_MAPPING_BYTES = 64 * 1024
_FORM_SLACK = 1024 * 1024  # room for the other form fields and the multipart framing
_TEXT_FIELDS = {"platform": 40, "account": 200, "currency": 3, "date_order": 3}
_FIELDS = {*_TEXT_FIELDS, "advertiser_id", "period_start", "period_end", "file", "mapping"}
_SAFE_NAME = re.compile(r"[^\w.\- ]+")


# --- response models -------------------------------------------------------------------------


class ProblemOut(BaseModel):
    row: int | None
    column: str | None
    message: str


class TotalsOut(BaseModel):
    impressions: int
    clicks: int
    clicks_all: int
    spend: dict[str, str]  # per currency, never converted
    conversions: Decimal
    results: Decimal
    viewable_impressions: int
    views: int
    starts: int
    completes: int


class ImportReportOut(BaseModel):
    import_id: str | None
    already_imported: bool
    platform: str
    source: str
    checksum: str
    rows_imported: int
    rows_replaced: int
    totals_rows_skipped: int
    start: date | None
    end: date | None
    currencies: list[str]
    accounts: list[str | None]
    totals: TotalsOut
    warnings: list[ProblemOut]
    warnings_omitted: int
    ignored_columns: list[str]
    encoding: str
    delimiter: str


class ImportOut(BaseModel):
    id: str
    advertiser_id: int
    platform: str
    account: str | None
    source: str
    checksum: str
    status: str
    created_at: datetime
    start: date | None
    end: date | None
    rows: int
    rows_replaced: int
    rows_stored: int
    currencies: list[str]
    accounts: list[str | None]


class BenchmarkOut(BaseModel):
    key: str
    label: str
    low: Decimal
    high: Decimal | None
    source: str
    quality: str


class CheckOut(BaseModel):
    metric: str
    outcome: str
    sentence: str
    basis: str | None
    benchmark: BenchmarkOut | None
    more_impressions_needed: int | None


class RateOut(BaseModel):
    clicks: int
    impressions: int
    percent: Decimal
    low: Decimal  # Wilson 95% interval, percent
    high: Decimal


class CurrencyOut(BaseModel):
    currency: str
    spend: str
    spend_micros: int
    impressions: int
    clicks: int | None
    cpm: Decimal | None
    cpc: Decimal | None
    cpm_benchmark: CheckOut


class ReachOut(BaseModel):
    value: int | None
    frequency: Decimal | None
    note: str | None


class LineOut(BaseModel):
    platform: str
    account: str | None
    campaign: str | None
    kind: str | None
    rows: int
    start: date
    end: date
    impressions: int
    clicks: int | None
    clicks_all: int | None
    ctr: RateOut | None
    ctr_all: RateOut | None
    spend: list[CurrencyOut]
    reach: ReachOut
    conversions: Decimal | None
    results: dict[str, Decimal]
    viewable_impressions: int | None
    views: int | None
    starts: int | None
    completes: int | None
    ctr_benchmark: CheckOut


class CompareOut(BaseModel):
    advertiser_id: int
    start: date | None
    end: date | None
    platforms: list[LineOut]
    campaigns: list[LineOut]
    rows_left_out: int
    notes: list[str]


# --- rendering --------------------------------------------------------------------------------


def _problem(p: RowProblem) -> ProblemOut:
    return ProblemOut(row=p.row, column=p.column, message=p.message)


def render_report(r: ImportReport) -> ImportReportOut:
    t = r.totals
    return ImportReportOut(
        import_id=r.import_id,
        already_imported=r.already_imported,
        platform=r.platform,
        source=r.source,
        checksum=r.checksum,
        rows_imported=r.rows_imported,
        rows_replaced=r.rows_replaced,
        totals_rows_skipped=r.totals_rows_skipped,
        start=r.start,
        end=r.end,
        currencies=list(r.currencies),
        accounts=list(r.accounts),
        totals=TotalsOut(
            impressions=t.impressions,
            clicks=t.clicks,
            clicks_all=t.clicks_all,
            spend={c: money(m) or "0" for c, m in t.spend_micros.items()},
            conversions=t.conversions,
            results=t.results,
            viewable_impressions=t.viewable_impressions,
            views=t.views,
            starts=t.starts,
            completes=t.completes,
        ),
        warnings=[_problem(w) for w in r.warnings],
        warnings_omitted=r.warnings_omitted,
        ignored_columns=list(r.ignored_columns),
        encoding=r.encoding,
        delimiter=r.delimiter,
    )


def render_import(r: ImportRecord) -> ImportOut:
    return ImportOut(
        id=r.id,
        advertiser_id=r.advertiser_id,
        platform=r.platform,
        account=r.account,
        source=r.source,
        checksum=r.checksum,
        status=r.status,
        created_at=r.created_at,
        start=r.start,
        end=r.end,
        rows=r.rows,
        rows_replaced=r.rows_replaced,
        rows_stored=r.rows_stored,
        currencies=list(r.currencies),
        accounts=list(r.accounts),
    )


def _benchmark(b: Benchmark | None) -> BenchmarkOut | None:
    if b is None:
        return None
    return BenchmarkOut(
        key=b.key, label=b.label, low=b.low, high=b.high, source=b.citation, quality=b.quality
    )


def _check(c: Check) -> CheckOut:
    return CheckOut(
        metric=c.metric,
        outcome=c.outcome.value,
        sentence=c.sentence,
        basis=c.basis,
        benchmark=_benchmark(c.benchmark),
        more_impressions_needed=c.more_impressions_needed,
    )


def _rate(r: Rate | None) -> RateOut | None:
    if r is None:
        return None
    return RateOut(
        clicks=r.clicks, impressions=r.impressions, percent=r.percent, low=r.low, high=r.high
    )


def _currency(c: CurrencyFigures) -> CurrencyOut:
    return CurrencyOut(
        currency=c.currency,
        spend=money(c.spend_micros) or "0",
        spend_micros=c.spend_micros,
        impressions=c.impressions,
        clicks=c.clicks,
        cpm=c.cpm,
        cpc=c.cpc,
        cpm_benchmark=_check(c.cpm_check),
    )


def _line(line: Line) -> LineOut:
    f = line.figures
    return LineOut(
        platform=line.platform,
        account=line.account,
        campaign=line.campaign,
        kind=line.kind,
        rows=f.rows,
        start=f.start,
        end=f.end,
        impressions=f.impressions,
        clicks=f.clicks,
        clicks_all=f.clicks_all,
        ctr=_rate(f.ctr),
        ctr_all=_rate(f.ctr_all),
        spend=[_currency(c) for c in f.spend],
        reach=ReachOut(value=f.reach.value, frequency=f.reach.frequency, note=f.reach.note),
        conversions=f.conversions,
        results=dict(f.results),
        viewable_impressions=f.viewable_impressions,
        views=f.views,
        starts=f.starts,
        completes=f.completes,
        ctr_benchmark=_check(line.ctr_check),
    )


def render_comparison(advertiser_id: int, c: Comparison) -> CompareOut:
    return CompareOut(
        advertiser_id=advertiser_id,
        start=c.start,
        end=c.end,
        platforms=[_line(x) for x in c.platforms],
        campaigns=[_line(x) for x in c.campaigns],
        rows_left_out=c.rows_left_out,
        notes=list(c.notes),
    )


# --- dependencies and helpers -------------------------------------------------------------------


def get_import_store(request: Request) -> ImportStore:
    """The import store over the catalog's engine, made once per app."""
    state = request.app.state
    store: ImportStore | None = getattr(state, "import_store", None)
    if store is None:
        engine = getattr(state.catalog, "engine", None)
        if not isinstance(engine, Engine):
            raise BackbeatError("imports need the SQL catalog", [], 501, "unavailable")
        store = ImportStore(engine)
        state.import_store = store
    return store


def _tenant(scope: Scope, requested: int | None) -> int | None:
    """The advertiser whose imports a caller sees: its own, or (admins) any or all."""
    where = scope.advertiser_where()  # 403 for publishers
    if scope.is_admin:
        return requested
    own = where["advertiser_id"]
    assert isinstance(own, int)
    if requested is not None and requested != own:
        raise NotFound("advertiser", requested)
    return own


def _failure(exc: ImportFailed) -> JSONResponse:
    body: dict[str, Any] = exc.to_dict()
    body["error"]["problems"] = [_problem(p).model_dump() for p in exc.problems]
    return JSONResponse(body, status_code=exc.status)


async def _read_form(request: Request) -> FormData:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ValidationFailed.one("file", "send the export as multipart/form-data")
    body = capped(request, MAX_IMPORT_BYTES + _FORM_SLACK, "file", MAX_IMPORT_BYTES)
    parser = MultiPartParser(request.headers, body, max_files=2, max_fields=10)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise ValidationFailed.one("file", f"unreadable upload: {exc.message}") from None


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed.one(name, "must be a form field, not a file")
    value = value.strip()
    if len(value) > _TEXT_FIELDS.get(name, 20):
        raise ValidationFailed.one(name, f"at most {_TEXT_FIELDS.get(name, 20)} characters")
    return value or None


def _int(form: FormData, name: str) -> int | None:
    value = _text(form, name)
    if value is None:
        return None
    if not value.isdigit():
        raise ValidationFailed.one(name, "must be a whole number")
    return int(value)


def _date(form: FormData, name: str) -> date | None:
    value = _text(form, name)
    try:
        return None if value is None else date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.one(name, "must be a date such as 2024-03-31") from None


def _upload(form: FormData, name: str, required: bool) -> UploadFile | None:
    value = form.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, UploadFile):
        raise ValidationFailed.one(
            name, "required: attach the file" if value is None else "must be a file"
        )
    return value


def _safe_name(filename: str | None, default: str) -> str:
    name = _SAFE_NAME.sub("_", Path(filename or "").name).strip(" .")[:120]
    return name or default


def _save(upload: UploadFile, folder: Path, default: str, limit: int) -> Path:
    target = folder / _safe_name(upload.filename, default)
    upload.file.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(upload.file, out, 1 << 20)
    if target.stat().st_size > limit:
        raise PayloadTooLarge("mapping", limit)
    return target


def run_import(
    store: ImportStore, advertiser_id: int, form: FormData, work_dir: Path
) -> ImportReport:
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="import-") as folder:
        here = Path(folder)
        export = _upload(form, "file", required=True)
        mapping = _upload(form, "mapping", required=False)
        assert export is not None
        path = _save(export, here, "export.csv", MAX_IMPORT_BYTES)
        mapping_path = None
        if mapping is not None:
            (here / "mapping").mkdir()
            mapping_path = _save(mapping, here / "mapping", "mapping.toml", MAX_MAPPING_BYTES)
        start, end = _date(form, "period_start"), _date(form, "period_end")
        if (start is None) != (end is None):
            raise ValidationFailed.one("period_end", "give both period_start and period_end")
        return import_file(
            path,
            store.sink(advertiser_id),
            platform=_text(form, "platform"),
            account=_text(form, "account"),
            mapping=mapping_path,
            currency=_text(form, "currency"),
            period=(start, end) if start is not None and end is not None else None,
            date_order=_text(form, "date_order"),
        )


_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "mapping": {"type": "string", "format": "binary"},
                        "platform": {"type": "string"},
                        "account": {"type": "string"},
                        "currency": {"type": "string"},
                        "date_order": {"type": "string", "enum": ["dmy", "mdy"]},
                        "period_start": {"type": "string", "format": "date"},
                        "period_end": {"type": "string", "format": "date"},
                        "advertiser_id": {"type": "integer"},
                    },
                }
            }
        },
    }
}


# --- routes -----------------------------------------------------------------------------------


@router.post(
    "/imports",
    response_model=ImportReportOut,
    status_code=201,
    openapi_extra=_UPLOAD_DOC,
    responses={200: {"description": "already imported: nothing changed"}},
)
async def create_import(
    request: Request, response: Response, scope: ScopeDep, settings: SettingsDep
) -> ImportReportOut | JSONResponse:
    """Import one platform export (multipart field ``file``)."""
    scope.advertiser_where()  # publishers are refused before the upload is read
    store = get_import_store(request)
    form = await _read_form(request)
    try:
        unknown = sorted(set(form.keys()) - _FIELDS)
        if unknown:
            raise ValidationFailed.many(dict.fromkeys(unknown, "unknown field"))
        advertiser_id = scope.owning_advertiser(_int(form, "advertiser_id"))
        work_dir = settings.data_dir / "import-tmp"
        work_dir.mkdir(parents=True, exist_ok=True)
        report = await run_in_threadpool(run_import, store, advertiser_id, form, work_dir)
    except ImportFailed as exc:
        return _failure(exc)
    finally:
        await form.close()
    if report.already_imported:
        response.status_code = 200
    return render_report(report)


@router.get("/imports", response_model=PageOut[ImportOut])
def list_imports(
    request: Request,
    scope: ScopeDep,
    advertiser_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PageOut[ImportOut]:
    page = get_import_store(request).page(_tenant(scope, advertiser_id), limit=limit, offset=offset)
    return PageOut[ImportOut](
        items=[render_import(r) for r in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/imports/{import_id}", response_model=ImportOut)
def get_import(
    request: Request, scope: ScopeDep, import_id: Annotated[str, PathParam(max_length=64)]
) -> ImportOut:
    return render_import(get_import_store(request).get(import_id, _tenant(scope, None)))


@router.delete("/imports/{import_id}", status_code=204)
def delete_import(
    request: Request, scope: ScopeDep, import_id: Annotated[str, PathParam(max_length=64)]
) -> None:
    get_import_store(request).delete(import_id, _tenant(scope, None))


@router.get("/compare", response_model=CompareOut)
def compare_platforms(
    request: Request,
    scope: ScopeDep,
    catalog: CatalogDep,
    advertiser_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
    platform: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 - FastAPI copies it
    campaign: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006
) -> CompareOut:
    """Imported platforms and campaigns side by side (see backbeat.importers.compare)."""
    owner = scope.owning_advertiser(advertiser_id)
    if catalog.advertisers.find(owner) is None:
        raise NotFound("advertiser", owner)
    query = CompareQuery(start, end, tuple(platform), tuple(campaign))
    rows = get_import_store(request).rows(
        owner, platforms=query.platforms, campaigns=query.campaigns, start=start, end=end
    )
    return render_comparison(owner, compare(rows, query))
