"""``backbeat demo``: fill a data directory with the demo network and two weeks of traffic.

Register the command on the main Typer app with :func:`register`; ``backbeat init
--demo-if-empty`` calls :func:`demo_if_empty`. The traffic goes through the real serving and
tracking code (see :mod:`backbeat.sim`), so the dashboard shows what a live network would,
planted problems included (docs/demo.md).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from backbeat.config import Settings, ensure_secret, load_settings
from backbeat.domain.money import format_money
from backbeat.errors import BackbeatError, ConfigError

if TYPE_CHECKING:
    from backbeat.sim.runner import SimOptions, SimReport

DEFAULT_DAYS = 14
DEFAULT_SEED = 1


def register(app: typer.Typer) -> None:
    """Add ``demo`` to `app`."""
    app.command("demo")(demo)


def _err() -> Console:
    return Console(stderr=True)


def has_campaigns(settings: Settings) -> bool:
    """Whether the catalog of `settings` holds any campaign (its schema is made if missing)."""
    from backbeat.store.catalog import open_catalog, upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_catalog_url)
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        return catalog.campaigns.page(limit=1).total > 0
    finally:
        catalog.close()


def wipe(settings: Settings) -> None:
    """Delete the catalog (SQLite only), the event store and the spool of `settings`.

    Refuses while a server holds the spool, and for a PostgreSQL catalog (drop that one
    yourself). The signing secret and uploaded images are kept."""
    from backbeat.store.catalog.engine import is_sqlite, normalise_url
    from backbeat.store.events.spool import Spool

    url = settings.resolved_catalog_url
    if not is_sqlite(url):
        raise ConfigError(
            "--force only resets a SQLite catalog; empty the PostgreSQL catalog yourself"
        )
    if settings.spool_dir.exists():
        Spool(settings.spool_dir).close()  # raises SpoolLocked while a server runs here
        shutil.rmtree(settings.spool_dir)
    database = normalise_url(url).database
    events = settings.resolved_events_path
    for base in (Path(database) if database and database != ":memory:" else None, events):
        if base is None:
            continue
        for path in (base, Path(f"{base}-wal"), Path(f"{base}-shm"), Path(f"{base}.wal")):
            path.unlink(missing_ok=True)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]Simulating traffic[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("hours"),
        TimeElapsedColumn(),
        console=console,
    )


def run_demo(
    settings: Settings, options: SimOptions | None = None, *, console: Console | None = None
) -> SimReport:
    """Seed and simulate with a progress bar; print logins and a summary. Returns the
    :class:`~backbeat.sim.runner.SimReport`."""
    from backbeat.sim.runner import SimOptions, simulate

    out = console or Console()
    options = (options or SimOptions(days=DEFAULT_DAYS, seed=DEFAULT_SEED)).validate()
    out.print(
        f"Building the demo network in {settings.data_dir.resolve()}: "
        f"{options.days} days of traffic, seed {options.seed}."
    )
    with _progress(out) as bar:
        task = bar.add_task("simulate", total=options.days * 24)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = simulate(settings, options, progress=advance)
    print_report(report, settings, out)
    return report


def print_report(report: SimReport, settings: Settings, out: Console) -> None:
    """The demo logins, what was simulated and what to look for."""
    logins = Table("login", "password", "role", "belongs to", title="Demo logins")
    for login in report.seeded.logins:
        logins.add_row(login.email, login.password, login.role.value, login.tenant or "-")
    out.print(logins)
    counts = Table("what", "count", title=f"Simulated {report.start:%Y-%m-%d %H:%M} to "
                   f"{report.end:%Y-%m-%d %H:%M} UTC")
    for label, n in report.requests.items():
        counts.add_row(label, f"{n:,}")
    for kind in ("decision", "impression", "viewable", "click", "conversion"):
        valid, invalid = report.count(kind, True), report.count(kind, False)
        counts.add_row(f"{kind} events (valid / invalid)", f"{valid:,} / {invalid:,}")
    counts.add_row("spend", format_money(report.spend_micros, settings.currency))
    out.print(counts)
    out.print(
        f"Simulated in {report.seconds:.1f} s. Planted for the analytics to find: a weak "
        "creative (Night Drive, “Lyric card”), a festival campaign on the wrong genre's "
        "sites, an awareness sampler with low CTR and wide reach, bot traffic on Iron Anvil "
        "Forum, and an Ireland-only tour that cannot spend its budget. See docs/demo.md."
    )
    out.print(f"Start the server with [bold]backbeat serve[/bold] and log in at "
              f"{settings.base_url}/")


def demo_if_empty(
    settings: Settings, *, options: SimOptions | None = None, console: Console | None = None
) -> SimReport | None:
    """Run the demo (by default 14 days, seed 1) when the catalog has no campaigns yet
    (``backbeat init --demo-if-empty``, for a first ``make run``). Returns the report, or
    None when the catalog already had campaigns and nothing was done."""
    settings = ensure_secret(settings)
    if has_campaigns(settings):
        return None
    return run_demo(settings, options, console=console)


def demo(
    days: Annotated[int, typer.Option(help="days of traffic to simulate, ending now")] = (
        DEFAULT_DAYS
    ),
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same data")] = (
        DEFAULT_SEED
    ),
    data_dir: Annotated[
        Path | None, typer.Option(help="data directory (default: BACKBEAT_DATA_DIR or ./var)")
    ] = None,
    scale: Annotated[float, typer.Option(help="traffic multiplier (1.0 = the demo sites)")] = 1.0,
    until: Annotated[
        datetime | None,
        typer.Option(help="end of the simulated period, UTC (default: now); fixes the data"),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="replace the catalog and events already in the data directory")
    ] = False,
) -> None:
    """Build the demo network and simulate its traffic through the real ad server."""
    try:
        settings = ensure_secret(load_settings(**({"data_dir": data_dir} if data_dir else {})))
        if has_campaigns(settings):
            if not force:
                _err().print(
                    f"[red]{settings.data_dir.resolve()} already has campaigns; the demo needs "
                    "an empty data directory. Use --force to replace its catalog and events, "
                    "or --data-dir to build it elsewhere.[/red]"
                )
                raise typer.Exit(1)
            wipe(settings)
        from backbeat.sim.runner import SimOptions

        end = until.replace(tzinfo=UTC) if until and until.tzinfo is None else until
        run_demo(settings, SimOptions(days=days, seed=seed, scale=scale, until=end))
    except BackbeatError as exc:
        _err().print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    except ConfigError as exc:
        _err().print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
