"""`backbeat serve` refuses clearly, before it starts anything, when it cannot serve."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backbeat.cli import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BACKBEAT_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def test_serve_without_a_schema_says_to_initialise(env: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2, result.output
    assert "has no schema yet" in result.output
    assert "backbeat init" in result.output
    assert "Traceback" not in result.output


def test_workers_on_a_taken_port_say_so(env: Path) -> None:
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port), "--workers", "2"])
    assert result.exit_code == 1, result.output
    assert f"Cannot listen on 127.0.0.1:{port}" in result.output
    assert "in use" in result.output
    assert "ingest process" not in result.output  # refused before anything started
    # the banner names where this server listens, and the public address links will use
    assert f"API docs: http://127.0.0.1:{port}/api/docs" in result.output
    assert "Tracking links and the ad tag use http://127.0.0.1:8000" in result.output
