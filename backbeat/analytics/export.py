"""Campaign reports as files: CSV, JSON, and a self-contained HTML page with charts.

* **JSON** is :func:`backbeat.analytics.report_json.campaign_report` as text: the same shape
  the API answers with.
* **CSV** is one tidy table: a ``section`` column (``total``, ``series`` for the days,
  ``breakdown`` for the breakdowns) and the same columns for every row, so a spreadsheet can
  filter it. Money and percentages are rendered as in the JSON. Text cells that a
  spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``) get a leading
  apostrophe.
* **HTML** is one file that opens offline: the Chart.js UMD build is inlined from the
  package (``backbeat/web/static/vendor/chart.umd.min.js``, installed from npm by the
  Makefile), the report data sits in a ``<script type="application/json">`` element, and
  every piece of text is HTML-escaped. Nothing is fetched: no CDN, no remote font, no image.
  Without the Chart.js file the page still has every table and says why the charts are
  missing.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from importlib import resources
from typing import Any

from backbeat.analytics import report_json as rj
from backbeat.analytics.diagnosis import Finding
from backbeat.analytics.diagnosis.wording import p_text, rate_text
from backbeat.analytics.report_json import Json
from backbeat.analytics.service import CampaignOverview, CampaignReport, PlanOutcome
from backbeat.domain.money import MICROS, format_money

CHART_JS_PACKAGE = "backbeat.web"
CHART_JS_PATH = "static/vendor/chart.umd.min.js"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def load_chart_js() -> str | None:
    """The Chart.js UMD bundle shipped with the web package, or None when not installed."""
    try:
        source = resources.files(CHART_JS_PACKAGE).joinpath(CHART_JS_PATH)
        return source.read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, NotADirectoryError):
        return None


# --- JSON and CSV ------------------------------------------------------------------------


def report_json(report: CampaignReport) -> str:
    return json.dumps(rj.campaign_report(report), ensure_ascii=False, indent=2)


def _text(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return out.getvalue()


REPORT_COLUMNS = (
    "section", "day", "dimension", "key", "label", "impressions", "clicks", "ctr_pct",
    "ctr_low_pct", "ctr_high_pct", "spend", "cumulative_spend", "planned_spend", "reach",
)  # fmt: skip


def report_csv(report: CampaignReport) -> str:
    """The campaign's totals, daily series and breakdowns as one table (module docstring)."""
    data = rj.campaign_report(report)
    total = data["flight_to_date"]
    rows: list[Sequence[object]] = [
        ("total", "", "", report.campaign.id, report.campaign.name, total["impressions"],
         total["clicks"], *_ctr(total["ctr"]), total["spend"], "", "", total["reach"]),
    ]  # fmt: skip
    for p in data["series"]:
        rows.append(("series", p["day"], "", "", "", p["impressions"], p["clicks"],
                     *_ctr(p["ctr"]), p["spend"], p["cumulative_spend"], p["planned_spend"],
                     ""))  # fmt: skip
    for b in data["breakdowns"]:
        for ln in b["lines"]:
            key = ln["key"]
            shown = ("true" if key else "false") if isinstance(key, bool) else key
            rows.append(("breakdown", "", b["dimension"], shown, ln["label"],
                         ln["impressions"], ln["clicks"], *_ctr(ln["ctr"]), ln["spend"], "",
                         "", ln["reach"]))  # fmt: skip
    return _table(REPORT_COLUMNS, rows)


def _ctr(rate: dict[str, object]) -> tuple[object, object, object]:
    return rate["percent"], rate["low"], rate["high"]


def findings_csv(findings: Sequence[Finding]) -> str:
    """One row per finding; its evidence joined into one cell."""
    return _table(
        ("severity", "kind", "title", "subjects", "evidence", "action"),
        (
            (f.severity.value, f.kind.value, f.title, "; ".join(f.subjects),
             "; ".join(f"{e.label}: {e.text}" for e in f.evidence), f.action)
            for f in findings
        ),
    )  # fmt: skip


def overview_csv(overview: CampaignOverview) -> str:
    data = rj.campaign_overview(overview)
    return _table(
        ("campaign_id", "name", "status", "objective", "impressions", "reach", "clicks",
         "ctr_pct", "ctr_low_pct", "ctr_high_pct", "spend", "budget_total", "budget_used_pct",
         "verdict"),
        (
            (c["id"], c["name"], c["status"], c["objective"], c["impressions"], c["reach"],
             c["clicks"], *_ctr(c["ctr"]), c["spend"], c["budget_total"], c["budget_used"],
             c["verdict"]["outcome"] if c["verdict"] else "")
            for c in data["campaigns"]
        ),
    )  # fmt: skip


def plan_csv(outcome: PlanOutcome) -> str:
    data = rj.plan_outcome(outcome)
    rows: list[Sequence[object]] = []
    for name in ("impressions", "clicks", "reach"):
        cell = data[name]
        rows.append((name, *(("", "") if cell is None else (cell["low"], cell["high"]))))
    freq = data["frequency"]
    rows.append(("frequency", *(("", "") if freq is None else freq)))
    rows.append(("spend", data["spend"]["low"], data["spend"]["high"]))
    rows.append(("inventory", data["inventory"], data["inventory"]))
    return _table(("figure", "low", "high"), rows)


# --- HTML --------------------------------------------------------------------------------

_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d1d27; background: #f6f6f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 32px 0 8px; font-size: 19px; }
.muted { color: #5b5b6b; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card, .chart, table, .finding { background: #fff; box-shadow: 0 1px 2px #0001; }
.card { border-radius: 10px; padding: 12px 14px; }
.card b { display: block; font-size: 21px; }
.chart { border-radius: 10px; padding: 12px; margin: 12px 0; }
table { border-collapse: collapse; width: 100%; border-radius: 10px; margin: 8px 0; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #eee; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.finding { border-left: 5px solid #999; border-radius: 8px; padding: 10px 14px; margin: 10px 0; }
.finding.critical { border-color: #c0392b; }
.finding.warning { border-color: #e67e22; }
.finding.info { border-color: #2e86c1; }
.sev { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: #5b5b6b; }
.note { background: #fff8e1; padding: 8px 12px; border-radius: 8px; }
footer { margin: 40px 0 10px; font-size: 13px; color: #5b5b6b; }
"""

# Draws the three charts from the JSON data element; Chart.js is inlined before it.
_CHARTS = """
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  if (typeof Chart === 'undefined') { return; }
  function col(pick) {
    return data.series.map(function (p) { var v = pick(p); return v === null ? null : Number(v); });
  }
  var days = data.series.map(function (p) { return p.day; });
  function axis(text) { return {beginAtZero: true, title: {display: true, text: text}}; }
  new Chart(document.getElementById('chart-delivery'), {type: 'bar', data: {labels: days,
    datasets: [
      {label: 'Impressions', data: col(function (p) { return p.impressions; }),
       backgroundColor: '#9bb7e0', yAxisID: 'y'},
      {label: 'Clicks', type: 'line', data: col(function (p) { return p.clicks; }),
       borderColor: '#c0392b', yAxisID: 'y1'}]},
    options: {animation: false, scales: {y: axis('impressions'),
      y1: Object.assign(axis('clicks'), {position: 'right', grid: {drawOnChartArea: false}})}}});
  new Chart(document.getElementById('chart-ctr'), {type: 'line', data: {labels: days,
    datasets: [
      {label: '95% range (high)', data: col(function (p) { return p.ctr.high; }),
       borderColor: 'transparent', backgroundColor: 'rgba(46,134,193,0.18)', fill: '+1',
       pointRadius: 0},
      {label: '95% range (low)', data: col(function (p) { return p.ctr.low; }),
       borderColor: 'transparent', pointRadius: 0, fill: false},
      {label: 'CTR %', data: col(function (p) { return p.ctr.percent; }),
       borderColor: '#2e86c1', spanGaps: true}]},
    options: {animation: false, scales: {y: axis('CTR %')}}});
  new Chart(document.getElementById('chart-spend'), {type: 'line', data: {labels: days,
    datasets: [
      {label: 'Spent so far', data: col(function (p) { return p.cumulative_spend; }),
       borderColor: '#27ae60'},
      {label: 'Even pacing plan', data: col(function (p) { return p.planned_spend; }),
       borderColor: '#7f8c8d', borderDash: [6, 4]}]},
    options: {animation: false, scales: {y: axis('spend')}}});
})();
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _script_json(data: object) -> str:
    """JSON safe inside a <script> element: no '<' can close it or open a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline(script: str) -> str:
    """A script's text safe inside <script>: '</script' would end the element early."""
    return script.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


class _Show:
    """How the page writes numbers: counts with separators, money in the currency, rates as
    '0.77% (95% CI 0.65–0.91%)', as the findings do."""

    def __init__(self, currency: str) -> None:
        self.currency = currency

    def money(self, amount: object) -> str:
        if amount is None:
            return ""
        return format_money(int(Decimal(str(amount)) * MICROS), self.currency)

    @staticmethod
    def count(value: object) -> str:
        return "n/a" if value is None else f"{value:,}"

    @staticmethod
    def rate(rate: Mapping[str, Any]) -> str:
        if not rate["trials"]:
            return "no data"
        return rate_text(rate["successes"], rate["trials"])

    @staticmethod
    def share(value: object) -> str:
        return "" if value is None else f"{float(str(value)):.1f}%"

    @staticmethod
    def prob(value: object) -> str:
        return "" if value is None else f"{float(str(value)):.1%}"

    @staticmethod
    def p(value: object) -> str:
        return "" if value is None else p_text(float(str(value)))


def _html_table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: set[int]) -> str:
    def cell(tag: str, i: int, value: object) -> str:
        cls = ' class="n"' if i in numeric else ""
        return f"<{tag}{cls}>{_e(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cards(data: Json, show: _Show) -> str:
    c, total = data["campaign"], data["flight_to_date"]
    cards = (
        ("Impressions", show.count(total["impressions"])),
        ("Clicks", show.count(total["clicks"])),
        ("CTR", show.rate(total["ctr"])),
        ("Reach", "not measured" if total["reach"] is None else show.count(total["reach"])),
        ("Spend", f"{show.money(total['spend'])} of {show.money(c['budget_total'])}"),
        ("Budget used", show.share(total["budget_used"])),
    )
    inner = "".join(f'<div class="card">{_e(k)}<b>{_e(v)}</b></div>' for k, v in cards)
    verdict = data["verdict"]
    said = (
        f'<p>{_e(verdict["sentence"])} <span class="muted">Benchmark source: '
        f"{_e(verdict['benchmark']['source'])}.</span></p>"
        if verdict
        else ""
    )
    return f'<div class="cards">{inner}</div>{said}'


def _charts(script: str | None) -> str:
    if not script:
        return (
            '<p class="note">Charts are missing: the Chart.js file was not installed with '
            "Backbeat (run <code>make install</code>). The tables have every figure.</p>"
        )
    return "".join(
        f'<div class="chart"><canvas id="chart-{name}" height="110"></canvas></div>'
        for name in ("delivery", "ctr", "spend")
    )


def _series(data: Json, show: _Show) -> str:
    header = ("day", "impressions", "clicks", "CTR", "spend", "spent so far", "even plan")
    rows = [
        (p["day"], show.count(p["impressions"]), show.count(p["clicks"]), show.rate(p["ctr"]),
         show.money(p["spend"]), show.money(p["cumulative_spend"]),
         show.money(p["planned_spend"]))
        for p in data["series"]
    ]  # fmt: skip
    return _html_table(header, rows, {1, 2, 4, 5, 6})


def _findings(data: Json) -> str:
    if not data["findings"]:
        return "<p>Nothing to report: no finding passed its test.</p>"
    parts = []
    for f in data["findings"]:
        evidence = "".join(f"<li>{_e(ev['label'])}: {_e(ev['text'])}</li>" for ev in f["evidence"])
        parts.append(
            f'<div class="finding {_e(f["severity"])}"><div class="sev">{_e(f["severity"])}'
            f"</div><h3>{_e(f['title'])}</h3><p>{_e(f['explanation'])}</p>"
            f"<ul>{evidence}</ul><p><b>What to do:</b> {_e(f['action'])}</p></div>"
        )
    return "".join(parts)


def _scorecard(data: Json) -> str:
    rows = [
        (ln["metric"], ln["text"], ln["verdict_text"] or "", ln["good"])
        for ln in data["scorecard"]["lines"]
    ]
    return _html_table(("metric", "value", "verdict", "what good looks like"), rows, set())


def _ab(data: Json, show: _Show) -> str:
    header = ("creative", "impressions", "clicks", "CTR", "p vs best", "chance it beats best",
              "expected loss", "impressions still needed")  # fmt: skip
    rows = []
    for ln in data["ab"]["lines"]:
        needed = ln["more_impressions_needed"]
        loss = ln["expected_loss"]
        rows.append((
            ln["name"] + (" (best)" if ln["is_best"] else ""), show.count(ln["impressions"]),
            show.count(ln["clicks"]), show.rate(ln["ctr"]), show.p(ln["p_value"]),
            show.prob(ln["prob_beats_best"]), "" if loss is None else f"{loss} points",
            "" if ln["is_best"] else ("n/a" if needed is None else show.count(needed)),
        ))  # fmt: skip
    return _html_table(header, rows, {1, 2, 4, 5, 6, 7})


def _trends(data: Json, show: _Show) -> str:
    t = data["trends"]
    lines = [t["direction"]["sentence"]]
    if t["week_over_week"]:
        lines.insert(0, "Week over week: " + t["week_over_week"]["sentence"])
    for label in ("ctr", "clicks"):
        week = t[f"best_week_by_{label}"]
        if week:
            lines.append(
                f"Best week by {'CTR' if label == 'ctr' else label}: {week['first']} to "
                f"{week['last']}, {show.count(week['clicks'])} clicks, "
                f"CTR {show.rate(week['ctr'])}."
            )
    return "".join(f"<p>{_e(line)}</p>" for line in lines)


def _breakdowns(data: Json, show: _Show) -> str:
    out = []
    for b in data["breakdowns"]:
        rows = [
            (ln["label"], show.count(ln["impressions"]), show.count(ln["clicks"]),
             show.rate(ln["ctr"]), show.money(ln["spend"]), show.count(ln["reach"]))
            for ln in b["lines"]
        ]  # fmt: skip
        header = ("", "impressions", "clicks", "CTR", "spend", "reach")
        out.append(f"<h3>{_e(b['title'])}</h3>" + _html_table(header, rows, {1, 2, 4, 5}))
    return "".join(out)


_FOOTER = (
    "<footer>Backbeat campaign report. Every rate shows its 95% range (Wilson interval). "
    "Findings, the scorecard, trends and the creative panel cover the flight so far; the "
    "daily series and the breakdowns cover the period above. This file needs no network."
    "</footer>"
)


def report_html(
    report: CampaignReport, chart_js: str | None = None, *, currency: str = "USD"
) -> str:
    """The report as one offline HTML page (see the module docstring). `chart_js` is the
    Chart.js source, by default the packaged file (:func:`load_chart_js`); money is shown in
    `currency`."""
    script = chart_js if chart_js is not None else load_chart_js()
    data = rj.campaign_report(report)
    show = _Show(currency)
    c, per = data["campaign"], data["period"]
    head = (
        f'<h1>{_e(c["name"])}</h1><p class="muted">{_e(c["objective"])} campaign, '
        f"{_e(c['status'])}; period {_e(per['start'])} to {_e(per['end'])} "
        f"({_e(per['timezone'])}); generated {_e(data['generated_at'])}</p>"
    )
    body = "".join((
        head, _cards(data, show),
        "<h2>Delivery, click rate and spend</h2>", _charts(script), _series(data, show),
        "<h2>Findings</h2>", _findings(data),
        "<h2>Scorecard</h2>", _scorecard(data),
        "<h2>Creatives against the best</h2>", _ab(data, show),
        "<h2>Trends</h2>", _trends(data, show),
        "<h2>Breakdowns</h2>", _breakdowns(data, show), _FOOTER,
    ))  # fmt: skip
    chart_tag = f"<script>{_inline(script)}</script>" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(c['name'])}: campaign report</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main>"
        f'<script type="application/json" id="report-data">{_script_json(data)}</script>'
        f"{chart_tag}<script>{_CHARTS}</script></body></html>\n"
    )
