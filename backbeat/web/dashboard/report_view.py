"""What the report pages share: the report service over the runtime's event store, the period
selector, numbers written the way the findings write them, and charts as plain data.

A chart is a :class:`Chart`: labels and series of numbers (money and rates as the decimal
strings of :mod:`backbeat.analytics.report_json`, so nothing is rounded through a float
here). The page embeds its :meth:`Chart.spec` as JSON next to a ``<canvas>``;
``/static/charts.js`` turns it into a Chart.js chart. Every chart also has a sentence and a
table right below it, so nothing is only in the picture.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from backbeat.analytics.campaign_report import Rate
from backbeat.analytics.diagnosis.wording import interval_text, pct
from backbeat.analytics.service import Period, ReportService
from backbeat.domain.money import MICROS, format_money
from backbeat.web.dashboard.base import runtime
from backbeat.web.dashboard.form_errors import FormErrors

T = TypeVar("T")
PRESETS = {"7": 7, "14": 14, "30": 30}
PERIOD_LABELS = {
    "flight": "The flight so far",
    "7": "Last 7 days",
    "14": "Last 14 days",
    "30": "Last 30 days",
    "custom": "Custom dates",
}
PERIOD_FIELDS = {"period": "Period", "start": "Start date", "end": "End date"}
Unit = Literal["count", "percent", "money"]


def report_service(request: Request) -> ReportService:
    """The report service over the app's catalog and event store, on the runtime's clock."""
    rt = runtime(request)
    return ReportService(rt.catalog, rt.store, rt.clock, rt.settings.timezone)


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run a report off the event loop (reports read the event store and may take a while)."""
    return await run_in_threadpool(fn, *args)


# --- the period selector -----------------------------------------------------------------


@dataclass
class PeriodChoice:
    """What the period form asked for. `start`/`end` None means the page's default period."""

    choice: str
    start: date | None = None
    end: date | None = None
    raw_start: str = ""
    raw_end: str = ""
    errors: FormErrors = field(default_factory=FormErrors)

    def options(self, choices: Sequence[str]) -> list[tuple[str, str, bool]]:
        """(value, label, selected) for the period select."""
        return [(c, PERIOD_LABELS[c], c == self.choice) for c in choices]

    def summary(self) -> list[tuple[str | None, str]]:
        return self.errors.summary(PERIOD_FIELDS)


def _parse_day(raw: str, name: str, errors: FormErrors) -> date | None:
    if not raw:
        errors.add(name, "give a date, for example 2026-03-01")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.add(name, "must be a date such as 2026-03-01")
        return None


def choose_period(
    params: Mapping[str, str],
    today: date,
    choices: Sequence[str],
    default: str,
    last_day: date | None = None,
) -> PeriodChoice:
    """Read `period` (one of `choices`; "custom" with `start` and `end`) from the query.

    "Last N days" end today, or on `last_day` when that is earlier (a campaign's flight
    that is over). A bad choice or date is a form error; the page then shows its default
    period with the reason next to the field."""
    raw = params.get("period", "").strip()[:10] or default
    out = PeriodChoice(raw if raw in choices else default)
    out.raw_start = params.get("start", "").strip()[:10]
    out.raw_end = params.get("end", "").strip()[:10]
    if raw not in choices:
        out.errors.add("period", "choose one of: " + ", ".join(PERIOD_LABELS[c] for c in choices))
        return out
    if raw in PRESETS:
        last = min(today, last_day) if last_day is not None else today
        out.start, out.end = last - timedelta(days=PRESETS[raw] - 1), last
    elif raw == "custom":
        start = _parse_day(out.raw_start, "start", out.errors)
        end = _parse_day(out.raw_end, "end", out.errors)
        if start is not None and end is not None and end < start:
            out.errors.add("end", "must not be before the start date")
        if not out.errors:
            out.start, out.end = start, end
    return out


def period_text(p: Period) -> str:
    if p.start == p.end:
        return f"{p.start.isoformat()} ({p.timezone})"
    return f"{p.start.isoformat()} to {p.end.isoformat()} ({p.timezone})"


def period_query(p: Period) -> str:
    """The query string that asks for exactly this period."""
    return f"period=custom&start={p.start.isoformat()}&end={p.end.isoformat()}"


# --- numbers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RateView:
    """A rate as a page writes it: '1.50%', its 95% range '1.28–1.76%', and both in one
    sentence-ready string (the findings' wording)."""

    text: str
    range: str
    full: str


def rate_view(rate: Rate) -> RateView:
    if not rate.trials:
        return RateView("–", "", "no data")
    ci = rate.interval
    low, high = pct(ci.low).rstrip("%"), pct(ci.high)
    return RateView(pct(float(Fraction(rate.successes, rate.trials))), f"{low}–{high}",
                    interval_text(ci))  # fmt: skip


def money_text(micros: int | Fraction | None, currency: str) -> str:
    if micros is None:
        return "–"
    return format_money(int(micros), currency)


def share_text(part: int, whole: int) -> str:
    """`part` of `whole` as a percentage with one decimal ('4.8%')."""
    if not whole:
        return "–"
    return f"{Decimal(part * 100) / Decimal(whole):.1f}%"


def amount(micros: int) -> str:
    """Micros as a plain decimal amount for a chart ('48.000000')."""
    return f"{Decimal(micros) / MICROS:.6f}"


def percent_of(rate: Fraction | None) -> str | None:
    """A rate in [0, 1] as a percentage string with 4 places for a chart."""
    if rate is None:
        return None
    return f"{Decimal(rate.numerator) * 100 / Decimal(rate.denominator):.4f}"


# --- charts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One dataset. `kind`: "line", "bar", "band-low"/"band-high" (a shaded range: the high
    edge fills down to the low one) or "ref" (a dashed flat reference line; with `fill`
    "-1" it shades down to the series before it)."""

    label: str
    data: Sequence[str | int | None]
    kind: str = "line"
    axis: str = "y"
    fill: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "data": list(self.data), "kind": self.kind,
                "axis": self.axis, "fill": self.fill}  # fmt: skip


@dataclass(frozen=True)
class Chart:
    """A chart for ``charts.js``: its canvas id, a title, the accessible label, a one-line
    summary of what it shows (printed below it), and the data."""

    id: str
    title: str
    label: str
    summary: str
    labels: Sequence[str]
    series: Sequence[Series]
    unit: Unit = "count"
    unit2: Unit | None = None
    currency: str = "USD"
    titles: tuple[str, str | None] = ("", None)

    @property
    def points(self) -> int:
        return len(self.labels)

    def spec(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "datasets": [s.to_json() for s in self.series],
            "y": {"unit": self.unit, "title": self.titles[0]},
            "y2": None if self.unit2 is None else {"unit": self.unit2, "title": self.titles[1]},
            "currency": self.currency,
        }
