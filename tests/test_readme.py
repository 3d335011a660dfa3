"""The README's promises, checked against a real server started the way `make run` does."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer, start_server

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("readme") / "var")
    yield live
    live.stop()


def _quickstart() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- quickstart:begin -->")[1].split("<!-- quickstart:end -->")[0]
    match = re.search(r"```sh\n(.*?)```", block, re.S)
    assert match, "README quickstart has no sh block"
    return match.group(1)


def test_init_prints_credentials_once(server: LiveServer) -> None:
    assert server.admin_email and server.admin_password and server.token.startswith("bb_")
    again = server.cli("init")
    assert server.token not in again.stdout and "password" not in again.stdout


def test_readme_mentions_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "make run" in text and "make test" in text


def test_quickstart_runs_as_written(server: LiveServer) -> None:
    script = "set -euo pipefail\n" + _quickstart()
    env = {**os.environ, "BB": server.url, "TOKEN": server.token}
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"status":"active"' in done.stdout.replace(" ", "")
    h = {"Authorization": f"Bearer {server.token}"}
    campaigns = httpx.get(server.url + "/api/v1/campaigns?q=Night Drive", headers=h).json()
    assert campaigns["total"] == 1 and campaigns["items"][0]["status"] == "active"


def test_api_docs_are_served(server: LiveServer) -> None:
    docs = httpx.get(server.url + "/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = httpx.get(server.url + "/api/openapi.json").json()
    assert "/v1/campaigns" in spec["paths"]


def test_cli_help_for_every_command(server: LiveServer) -> None:
    for args in (
        ["--help"],
        ["init", "--help"],
        ["serve", "--help"],
        ["db", "upgrade", "--help"],
        ["users", "create", "--help"],
        ["users", "list", "--help"],
        ["users", "token", "--help"],
    ):
        out = server.cli(*args)
        assert "Usage" in out.stdout, args


def test_cli_users_and_tokens(server: LiveServer) -> None:
    label = httpx.post(
        server.url + "/api/v1/advertisers",
        json={"name": "Granite Records"},
        headers={"Authorization": f"Bearer {server.token}"},
    ).json()["id"]
    made = server.cli(
        "users", "create", "label@example.com", "--role", "advertiser", "--advertiser-id",
        str(label),
    )
    assert "created user" in made.stdout and "password:" in made.stdout
    token = server.cli("users", "token", "label@example.com", "--days", "1").stdout.strip()
    me = httpx.get(server.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["role"] == "advertiser"
    listed = server.cli("users", "list").stdout
    assert "label@example.com" in listed
    bad = server.cli("users", "create", "x@example.com", "--role", "advertiser", check=False)
    assert bad.returncode != 0 and "advertiser_id" in bad.stderr


def test_bad_setting_names_the_variable(server: LiveServer) -> None:
    env = {**server.env, "BACKBEAT_FLOOR_CPM": "cheap"}
    done = subprocess.run(
        [*server.cli("--help").args[:3], "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "BACKBEAT_FLOOR_CPM" in done.stderr
