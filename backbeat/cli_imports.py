"""``backbeat import`` and ``backbeat compare``: platform report imports from the command line.

Register them on the main Typer app with :func:`register`. Both read the settings like every
other command and open the catalog at ``settings.resolved_catalog_url``; the catalog must be
migrated (``backbeat db upgrade``). ``--advertiser-id`` may be left out when the catalog has
exactly one advertiser.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from backbeat.cli_common import cli_settings as _settings
from backbeat.cli_common import err as _err
from backbeat.cli_common import open_current_catalog as _open
from backbeat.domain.money import from_micros
from backbeat.errors import BackbeatError

if TYPE_CHECKING:
    from backbeat.importers.compare import Check, Comparison, Line
    from backbeat.importers.report import ImportReport
    from backbeat.store.catalog import SqlCatalog

MAX_WARNINGS_SHOWN = 20


def register(app: typer.Typer) -> None:
    """Add ``import`` and ``compare`` to ``app``."""
    app.command("import")(import_report)
    app.command("compare")(compare_reports)





def _advertiser(catalog: SqlCatalog, requested: int | None) -> int:
    """The advertiser named, or the only one there is."""
    from backbeat.errors import NotFound, ValidationFailed

    if requested is not None:
        if catalog.advertisers.find(requested) is None:
            raise NotFound("advertiser", requested)
        return requested
    page = catalog.advertisers.page(limit=5)
    if page.total == 1 and page.items[0].id is not None:
        return page.items[0].id
    known = ", ".join(f"{a.id} ({a.name})" for a in page.items) or "none yet"
    more = ", ..." if page.total > len(page.items) else ""
    raise ValidationFailed.one("advertiser_id", f"pass --advertiser-id; advertisers: {known}{more}")


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("use a date such as 2024-03-31", param_hint=option) from None


def _period(text: str | None) -> tuple[date, date] | None:
    if text is None:
        return None
    first, sep, last = text.partition(":")
    start, end = _date(first, "--period"), _date(last, "--period")
    if not sep or start is None or end is None:
        raise typer.BadParameter("use START:END, e.g. 2024-03-01:2024-03-31", param_hint="--period")
    return start, end


def _money(micros: int, currency: str) -> str:
    """``212.9`` as ``212.90 USD``; sub-cent amounts keep their digits."""
    amount = from_micros(micros)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return f"{amount:,f} {currency}"


# --- backbeat import ---------------------------------------------------------------------------


def import_report(
    file: Annotated[Path, typer.Argument(help="the report export (CSV) to import")],
    platform: Annotated[
        str | None, typer.Option(help="meta, google_ads, tiktok or spotify; detected if left out")
    ] = None,
    account: Annotated[str | None, typer.Option(help="account for rows that name none")] = None,
    advertiser_id: Annotated[
        int | None, typer.Option(help="the advertiser the report belongs to")
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="ISO currency for files that state none")
    ] = None,
    date_order: Annotated[
        str | None, typer.Option(help="dmy or mdy, for dates such as 03/04/2024")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="START:END for files without a date column")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="TOML/JSON column mapping for any other CSV")
    ] = None,
) -> None:
    """Import a Meta, Google Ads/YouTube, TikTok or Spotify report export (or any CSV with
    --mapping) into the catalog, all of it or nothing."""
    from backbeat.importers.driver import import_file
    from backbeat.importers.errors import ImportFailed
    from backbeat.store.catalog.imports import ImportStore

    settings = _settings()
    window = _period(period)
    catalog = _open(settings)
    err = _err()
    try:
        owner = _advertiser(catalog, advertiser_id)
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
        with Progress(*columns, TimeRemainingColumn(), console=err) as bar:
            task = bar.add_task(f"Importing {file.name}", total=None)
            report = import_file(
                file,
                ImportStore(catalog).sink(owner),
                platform=platform,
                account=account,
                mapping=mapping,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                currency=currency,
                period=window,
                date_order=date_order,
            )
    except ImportFailed as exc:
        err.print(f"[red]{file.name} was not imported; nothing was stored.[/red]")
        for problem in exc.problems:
            err.print(f"  {problem}")
        raise typer.Exit(1) from None
    except BackbeatError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        catalog.close()
    _print_report(report, owner)


def _print_report(report: ImportReport, advertiser_id: int) -> None:
    console = Console()
    if report.already_imported:
        console.print(
            f"{report.source} was imported before for advertiser {advertiser_id} "
            "(same checksum); nothing changed."
        )
        return
    t = report.totals
    table = Table("", "", title=f"Imported {report.source}", show_header=False)
    table.add_row("import id", report.import_id or "")
    table.add_row("advertiser", str(advertiser_id))
    table.add_row("platform", report.platform)
    table.add_row("period", f"{report.start} .. {report.end}")
    table.add_row("rows", f"{report.rows_imported:,}")
    table.add_row("accounts", ", ".join(a or "(none)" for a in report.accounts))
    table.add_row("impressions", f"{t.impressions:,}")
    if t.clicks:
        table.add_row("link clicks", f"{t.clicks:,}")
    if t.clicks_all:
        table.add_row("all clicks", f"{t.clicks_all:,}")
    table.add_row("spend", "\n".join(_money(m, c) for c, m in t.spend_micros.items()))
    if report.totals_rows_skipped:
        table.add_row("totals rows", f"{report.totals_rows_skipped} skipped and checked")
    console.print(table)
    if report.rows_replaced:
        console.print(
            f"[yellow]{report.rows_replaced} rows of earlier imports for the same account and "
            "platform were replaced: their dates overlap this file's. Use --account to keep "
            "exports of different campaigns apart.[/yellow]"
        )
    if report.ignored_columns:
        console.print(f"Ignored columns: {', '.join(report.ignored_columns)}")
    shown = report.warnings[:MAX_WARNINGS_SHOWN]
    if shown:
        count = len(report.warnings) + report.warnings_omitted
        console.print(f"[yellow]{count} warning{'' if count == 1 else 's'}:[/yellow]")
        for warning in shown:
            console.print(f"  {warning}")
        hidden = len(report.warnings) - len(shown) + report.warnings_omitted
        if hidden:
            console.print(f"  ... and {hidden} more")


# --- backbeat compare --------------------------------------------------------------------------


def compare_reports(
    advertiser_id: Annotated[int | None, typer.Option(help="whose imports to compare")] = None,
    start: Annotated[str | None, typer.Option(help="first day, e.g. 2024-03-01")] = None,
    end: Annotated[str | None, typer.Option(help="last day, inclusive")] = None,
    platform: Annotated[
        list[str] | None, typer.Option(help="only this platform (repeatable)")
    ] = None,
    campaign: Annotated[
        list[str] | None, typer.Option(help="only this campaign (repeatable)")
    ] = None,
) -> None:
    """Compare imported platforms and campaigns: CTR with its 95% interval, CPM and CPC per
    currency, reach where it is known, and each platform against its benchmark."""
    from backbeat.importers.compare import CompareQuery, compare
    from backbeat.store.catalog.imports import ImportStore

    settings = _settings()
    first, last = _date(start, "--start"), _date(end, "--end")
    catalog = _open(settings)
    try:
        owner = _advertiser(catalog, advertiser_id)
        query = CompareQuery(first, last, tuple(platform or ()), tuple(campaign or ()))
        rows = ImportStore(catalog).rows(
            owner, platforms=query.platforms, campaigns=query.campaigns, start=first, end=last
        )
        result = compare(rows, query)
    except BackbeatError as exc:
        _err().print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        catalog.close()
    _print_comparison(result)


def _ctr(line: Line) -> str:
    rate = line.figures.ctr
    if rate is None:
        return "n/a"
    return f"{rate.percent:.2f}% ({rate.low:.2f}–{rate.high:.2f})"


def _outcome(check: Check) -> str:
    return check.outcome.value.replace("_", " ")


def _row(table: Table, line: Line, name: str) -> None:
    f = line.figures
    spend = f.spend
    table.add_row(
        name,
        f"{f.impressions:,}",
        "n/a" if f.clicks is None else f"{f.clicks:,}",
        _ctr(line),
        "n/a" if f.clicks_all is None else f"{f.clicks_all:,}",
        "\n".join(_money(c.spend_micros, c.currency) for c in spend),
        "\n".join("n/a" if c.cpm is None else f"{c.cpm:.2f} {c.currency}" for c in spend),
        "\n".join("n/a" if c.cpc is None else f"{c.cpc:.2f} {c.currency}" for c in spend),
        "n/a" if f.reach.value is None else f"{f.reach.value:,}",
        "\n".join(
            [f"CTR: {_outcome(line.ctr_check)}"]
            + [f"CPM {c.currency}: {_outcome(c.cpm_check)}" for c in spend]
        ),
    )


def _print_comparison(result: Comparison) -> None:
    console = Console()
    if not result.platforms:
        console.print("No imported rows match.")
        for note in result.notes[1:]:
            console.print(note)
        return
    span = f"{result.start} .. {result.end}"
    headers = ("", "impr.", "link clicks", "CTR (95% CI)", "all clicks", "spend", "CPM", "CPC")
    table = Table(*headers, "reach", "benchmark", title=f"Platforms and campaigns, {span}")
    for line in result.platforms:
        _row(table, line, f"[bold]{line.platform}[/bold]")
        for campaign in result.campaigns:
            if campaign.platform == line.platform:
                account = f" [{campaign.account}]" if campaign.account else ""
                _row(table, campaign, f"  {campaign.campaign}{account}")
    console.print(table)
    for line in result.platforms:
        console.print(f"[bold]{line.platform}[/bold]: {line.ctr_check.sentence}")
        for c in line.figures.spend:
            console.print(f"  CPM {c.currency}: {c.cpm_check.sentence}")
    for note in result.notes:
        console.print(f"Note: {note}")
