"""`backbeat demo` and `demo_if_empty`, on tiny simulations in temporary data directories."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from backbeat.cli_demo import demo_if_empty, has_campaigns, register, wipe
from backbeat.config import load_settings
from backbeat.errors import ConfigError
from backbeat.sim.runner import SimOptions
from backbeat.sim.seeds import ADMIN_EMAIL, DEMO_PASSWORD
from backbeat.store.catalog import open_catalog
from backbeat.store.events.spool import Spool, SpoolLocked

TINY = ["--days", "1", "--scale", "0.05", "--until", "2026-03-12T18:00:00"]


@pytest.fixture
def app() -> typer.Typer:
    cli = typer.Typer()
    register(cli)

    @cli.command()
    def other() -> None:  # with two commands Typer keeps the command name on the line
        """Unused."""

    return cli


def _campaigns(root: Path) -> int:
    catalog = open_catalog(load_settings(data_dir=root).resolved_catalog_url)
    try:
        return catalog.campaigns.page(limit=1).total
    finally:
        catalog.close()


def test_demo_builds_then_refuses_then_rebuilds_with_force(
    app: typer.Typer, tmp_path: Path
) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), *TINY])
    assert first.exit_code == 0, first.output
    assert ADMIN_EMAIL in first.output and DEMO_PASSWORD in first.output
    assert "impression events" in first.output
    assert _campaigns(tmp_path) == 10
    assert (tmp_path / "events.duckdb").exists() and any((tmp_path / "uploads").iterdir())

    again = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), *TINY])
    assert again.exit_code == 1
    assert "already has campaigns" in " ".join(again.output.split())
    assert _campaigns(tmp_path) == 10

    forced = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--force", *TINY])
    assert forced.exit_code == 0, forced.output
    assert _campaigns(tmp_path) == 10  # replaced, not doubled


def test_bad_option_is_a_clear_error(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--data-dir", str(tmp_path), "--days", "0"])
    assert result.exit_code == 1
    assert "days" in result.output


def test_demo_if_empty_runs_once(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    options = SimOptions(days=1, scale=0.05, until=datetime(2026, 3, 12, 18, tzinfo=UTC))
    quiet = Console(file=open(tmp_path / "out.txt", "w"))  # noqa: SIM115 - closed below
    try:
        report = demo_if_empty(settings, options=options, console=quiet)
        assert report is not None and report.count("impression", True) > 0
        assert demo_if_empty(settings, options=options, console=quiet) is None
    finally:
        quiet.file.close()
    assert has_campaigns(settings)
    assert "Demo logins" in (tmp_path / "out.txt").read_text()


def test_wipe_refuses_while_a_server_holds_the_spool(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    held = Spool(settings.spool_dir)
    try:
        with pytest.raises(SpoolLocked):
            wipe(settings)
    finally:
        held.close()
    wipe(settings)
    assert not settings.spool_dir.exists()


def test_wipe_refuses_a_postgres_catalog(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, catalog_url="postgresql://postgres@127.0.0.1/x")
    with pytest.raises(ConfigError):
        wipe(settings)
