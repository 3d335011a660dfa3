"""Other platforms (`/compare`, advertisers): upload a Meta, Google Ads / YouTube, TikTok or
Spotify export (or any CSV with a mapping file) and see every imported platform and campaign
measured the same way: CTR on link clicks with its 95% range, CPM, CPC and spend per
currency, each platform against its own benchmark.

The upload runs the imports API's own importer with the catalog's SQL sink
(:mod:`backbeat.web.api.imports`); the comparison is
:func:`backbeat.importers.compare.compare` over the stored rows. A file that cannot be
imported stores nothing, and the page lists every problem by row and column.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backbeat.domain.accounts import Role
from backbeat.domain.money import format_money
from backbeat.errors import BackbeatError
from backbeat.importers.compare import CompareQuery, compare
from backbeat.importers.errors import ImportFailed
from backbeat.importers.model import RowProblem
from backbeat.importers.report import ImportReport
from backbeat.web.api import imports as imports_api
from backbeat.web.api.imports import CheckOut, LineOut, RateOut
from backbeat.web.dashboard.base import Viewer, field, page, render, runtime, viewer_of
from backbeat.web.dashboard.form_errors import FormErrors, errors_of

MAX_UPLOAD_BYTES = imports_api.MAX_IMPORT_BYTES + 1024 * 1024  # the file and the form around it
PLATFORMS = (
    ("", "Detect it from the file"),
    ("meta", "Meta (Facebook, Instagram) Ads Manager"),
    ("google_ads", "Google Ads or YouTube"),
    ("tiktok", "TikTok Ads Manager"),
    ("spotify", "Spotify Ad Studio"),
    ("generic", "Another platform, with a mapping file"),
)
PLATFORM_NAMES = {"meta": "Meta", "google_ads": "Google Ads / YouTube", "tiktok": "TikTok",
                  "spotify": "Spotify"}  # fmt: skip
TEXT_FIELDS = {"platform": 40, "account": 200, "currency": 3, "date_order": 3,
               "period_start": 10, "period_end": 10}  # fmt: skip
FILE_FIELDS = ("file", "mapping")
LABELS = {"file": "Export file", "platform": "Platform", "mapping": "Mapping file",
          "account": "Account", "currency": "Currency", "date_order": "Date order",
          "period_start": "Period start", "period_end": "Period end"}  # fmt: skip


# --- the comparison as the page shows it -------------------------------------------------


def _rate(r: RateOut | None) -> dict[str, str]:
    if r is None:
        return {"text": "–", "range": ""}
    return {"text": f"{r.percent:.2f}%", "range": f"{r.low:.2f}–{r.high:.2f}%"}


def _price(value: Decimal | None, currency: str) -> str:
    return "–" if value is None else f"{value:,.2f} {currency}"


def _check(c: CheckOut) -> dict[str, Any]:
    return {"outcome": c.outcome, "sentence": c.sentence, "basis": c.basis,
            "source": c.benchmark.source if c.benchmark else None}  # fmt: skip


def _line(x: LineOut) -> dict[str, Any]:
    return {
        "platform": PLATFORM_NAMES.get(x.platform, x.platform),
        "campaign": x.campaign, "account": x.account, "kind": x.kind,
        "period": f"{x.start.isoformat()} to {x.end.isoformat()}",
        "impressions": x.impressions, "clicks": x.clicks, "clicks_all": x.clicks_all,
        "ctr": _rate(x.ctr), "ctr_all": _rate(x.ctr_all) if x.ctr_all else None,
        "money": [
            {"currency": c.currency, "spend": format_money(c.spend_micros, c.currency),
             "cpm": _price(c.cpm, c.currency), "cpc": _price(c.cpc, c.currency),
             "cpm_check": _check(c.cpm_benchmark)}
            for c in x.spend
        ],
        "reach": x.reach.value, "reach_note": x.reach.note,
        "ctr_check": _check(x.ctr_benchmark),
    }  # fmt: skip


def _problem(p: RowProblem) -> dict[str, Any]:
    where = []
    if p.row is not None:
        where.append(f"Row {p.row}")
    if p.column is not None:
        where.append(f"column “{p.column}”")
    return {"row": p.row, "column": p.column, "message": p.message,
            "where": ", ".join(where) or "The file"}  # fmt: skip


def _imported(r: ImportReport) -> dict[str, Any]:
    return {
        "already": r.already_imported, "source": r.source,
        "platform": PLATFORM_NAMES.get(r.platform, r.platform), "rows": r.rows_imported,
        "replaced": r.rows_replaced,
        "period": "" if r.start is None or r.end is None
        else f"{r.start.isoformat()} to {r.end.isoformat()}",
        "warnings": [_problem(w) for w in r.warnings], "warnings_omitted": r.warnings_omitted,
        "ignored": list(r.ignored_columns),
    }  # fmt: skip


async def _show(
    request: Request,
    viewer: Viewer,
    *,
    errors: FormErrors | None = None,
    problems: list[RowProblem] | None = None,
    report: ImportReport | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    owner = viewer.principal.advertiser_id
    assert owner is not None
    errs = errors or FormErrors()
    try:
        store = imports_api.get_import_store(request)
    except BackbeatError as exc:
        ctx = {"title": "Imports are not available", "message": exc.message}
        return render(request, viewer, "error.html", ctx, data={"error": exc.message},
                      status=exc.status)  # fmt: skip

    def read() -> tuple[imports_api.CompareOut, list[imports_api.ImportOut]]:
        found = compare(store.rows(owner), CompareQuery())
        listed = store.page(owner, limit=20).items
        return imports_api.render_comparison(owner, found), [
            imports_api.render_import(r) for r in listed
        ]

    comparison, imports = await run_in_threadpool(read)
    context = {
        "title": "Other platforms",
        "platforms": PLATFORMS,
        "values": values or {},
        "errors": errs,
        "summary": errs.summary(LABELS),
        "problems": [_problem(p) for p in problems or []],
        "imported": None if report is None else _imported(report),
        "comparison": comparison,
        "platform_lines": [_line(x) for x in comparison.platforms],
        "campaign_lines": [_line(x) for x in comparison.campaigns],
        "imports": imports,
    }
    data = {
        "comparison": comparison.model_dump(mode="json"),
        "imports": [i.model_dump(mode="json") for i in imports],
        "import": None if report is None
        else imports_api.render_report(report).model_dump(mode="json"),
        "errors": errs.to_json(),
        "problems": [_problem(p) for p in problems or []],
    }  # fmt: skip
    return render(request, viewer, "reports/compare.html", context, data=data, status=status)


# --- the upload --------------------------------------------------------------------------


def _forwarded(form: FormData) -> FormData:
    """The form as the importer reads it: only its own fields, without empty values or
    unchosen files, and no platform for 'detect' or 'generic' (the mapping says)."""
    items: list[tuple[str, str | UploadFile]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key in FILE_FIELDS and value.filename:
                items.append((key, value))
        elif key in TEXT_FIELDS and value.strip():
            if key == "platform" and value.strip() == "generic":
                continue
            items.append((key, value))
    return FormData(items)


def _check_form(form: FormData, values: dict[str, str]) -> FormErrors:
    errors = FormErrors()
    export = form.get("file")
    if not isinstance(export, UploadFile) or not export.filename:
        errors.add("file", "choose the export file to upload")
    mapping = form.get("mapping")
    has_mapping = isinstance(mapping, UploadFile) and bool(mapping.filename)
    if values.get("platform") == "generic" and not has_mapping:
        errors.add("mapping", "choose the mapping file (TOML) that names the file's columns")
    if values.get("platform") not in {key for key, _ in PLATFORMS}:
        errors.add("platform", "choose a platform from the list")
    return errors


@page(Role.ADVERTISER)
async def _upload(request: Request, viewer: Viewer) -> Response:
    form = await request.form()
    values = {k: field(form, k)[:n] for k, n in TEXT_FIELDS.items()}
    owner = viewer.principal.advertiser_id
    assert owner is not None
    try:
        errors = _check_form(form, values)
        if errors:
            return await _show(request, viewer, errors=errors, values=values, status=422)
        store = imports_api.get_import_store(request)
        work_dir = runtime(request).settings.data_dir / "import-tmp"
        work_dir.mkdir(parents=True, exist_ok=True)
        report = await run_in_threadpool(
            imports_api.run_import, store, owner, _forwarded(form), work_dir
        )
    except ImportFailed as exc:
        failed = FormErrors()
        failed.add(None, "The file was not imported, and nothing of it was stored.")
        return await _show(request, viewer, errors=failed, problems=exc.problems,
                           values=values, status=exc.status)  # fmt: skip
    except BackbeatError as exc:
        return await _show(request, viewer, errors=errors_of(exc, known=LABELS),
                           values=values, status=exc.status)  # fmt: skip
    finally:
        await form.close()
    return await _show(request, viewer, report=report, status=200 if report.already_imported
                       else 201)  # fmt: skip


@page(Role.ADVERTISER)
async def _page(request: Request, viewer: Viewer) -> Response:
    return await _show(request, viewer)


def _refuse_size(request: Request) -> Response | None:
    """Uploads must declare their length and stay under the cap; refused before any of the
    body is read (the server never buffers more than it declared)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) <= MAX_UPLOAD_BYTES:
        return None
    viewer = viewer_of(request)
    if viewer is None:
        return RedirectResponse("/login?next=/compare", status_code=303)
    mb = imports_api.MAX_IMPORT_BYTES // (1024 * 1024)
    status, message = (
        (413, f"The file is larger than {mb} MB. Export a shorter period, or split it.")
        if declared.isdigit()
        else (411, "Upload the file from the form on this page.")
    )
    ctx = {"title": "File not accepted", "message": message}
    return render(request, viewer, "error.html", ctx, data={"error": message}, status=status)


async def compare_page(request: Request) -> Response:
    """GET /compare: the comparison and the upload form. POST /compare (multipart): import
    the file (`file`, optional `platform`, `mapping`, `account`, `currency`, `date_order`,
    `period_start`, `period_end`) and show the comparison with it."""
    if request.method == "POST":
        refused = _refuse_size(request)
        return refused if refused is not None else await _upload(request)
    return await _page(request)
