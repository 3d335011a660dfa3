from __future__ import annotations

import stat
from decimal import Decimal
from pathlib import Path

import pytest

from backbeat.config import ensure_secret, load_settings
from backbeat.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path)
    assert s.floor_cpm == Decimal("2.50")
    assert s.floor_cpm_micros == 2_500_000
    assert s.resolved_catalog_url == f"sqlite:///{(tmp_path / 'catalog.db').resolve()}"
    assert s.resolved_events_path == tmp_path / "events.duckdb"


def test_env_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BACKBEAT_FLOOR_CPM", "3.75")
    monkeypatch.setenv("BACKBEAT_CURRENCY", "eur")
    s = load_settings(data_dir=tmp_path)
    assert s.floor_cpm_micros == 3_750_000
    assert s.currency == "EUR"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BACKBEAT_FLOOR_CPM", "cheap"),
        ("BACKBEAT_TIMEZONE", "Mars/Olympus"),
        ("BACKBEAT_CATALOG_URL", "mysql://x"),
        ("BACKBEAT_BASE_URL", "ftp://x"),
        ("BACKBEAT_CURRENCY", "DOLLARS"),
        ("BACKBEAT_LINK_TTL_SECONDS", "-5"),
    ],
)
def test_invalid_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert name in str(exc.value)


def test_secret_is_generated_once_with_0600(tmp_path: Path) -> None:
    s1 = ensure_secret(load_settings(data_dir=tmp_path))
    path = tmp_path / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    s2 = ensure_secret(load_settings(data_dir=tmp_path))
    assert s1.secret() == s2.secret()
    assert len(s1.secret()) >= 32


def test_given_secret_is_used(tmp_path: Path) -> None:
    s = ensure_secret(load_settings(data_dir=tmp_path, secret_key="x" * 40))
    assert s.secret() == b"x" * 40
    assert not (tmp_path / "secret.key").exists()
