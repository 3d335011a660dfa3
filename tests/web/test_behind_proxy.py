"""Backbeat behind a real nginx, configured as docs/deployment.md shows: the visitor's
address is the one nginx forwarded, and a visitor cannot forge it.

The client connects from 127.0.0.2 and 127.0.0.3 (loopback addresses, not trusted);
nginx connects to Backbeat from 127.0.0.1, the one trusted proxy."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import duckdb
import httpx
import pytest

from tests.live import LiveServer, free_port, start_server
from tests.web.network import PAGE
from tests.web.test_crash_http import browser, seed

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONF = """
daemon off;
user root;
worker_processes 1;
error_log stderr warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[LiveServer, str, int]]:
    if not Path(NGINX).exists():
        pytest.skip(f"{NGINX} is missing: install it with `apt-get install -y nginx`")
    data_dir = tmp_path / "var"
    top, _ = seed(data_dir)
    server = start_server(data_dir, {"BACKBEAT_TRUSTED_PROXIES": "127.0.0.1"})
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = free_port()
    upstream = urlsplit(server.url).port
    (prefix / "nginx.conf").write_text(CONF.format(prefix=prefix, port=port, upstream=upstream))
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proxy = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(proxy + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert nginx.poll() is None, nginx.stderr.read() if nginx.stderr else b""
            assert time.monotonic() < deadline, "nginx did not come up"
            time.sleep(0.1)
        yield server, proxy, top
    finally:
        nginx.terminate()
        nginx.wait(10)
        server.stop()


def show_ad(base: str, source: str, placement: int, ua: str, forged: str) -> str:
    """Serve an ad and send its impression beacon from `source`, with a forged
    X-Forwarded-For on both requests; the ad's decision id."""
    transport = httpx.HTTPTransport(local_address=source)
    headers = {"User-Agent": ua, "X-Forwarded-For": forged}
    with httpx.Client(base_url=base, transport=transport, timeout=10) as client:
        r = client.get("/serve", params={"p": placement, "u": PAGE}, headers=headers)
        assert r.status_code == 200, r.text
        ad = r.json()["ads"][0]
        path = urlsplit(ad["imp"]).path + "?u=" + quote(PAGE, safe="")
        assert client.post(path, headers=headers).status_code == 204
        return str(ad["decision"])


def test_behind_nginx_each_visitor_keeps_their_own_address(
    proxied: tuple[LiveServer, str, int],
) -> None:
    server, proxy, top = proxied
    ua = browser(1)
    via_proxy = show_ad(proxy, "127.0.0.2", top, ua, "203.0.113.50")
    via_proxy_again = show_ad(proxy, "127.0.0.2", top, ua, "198.51.100.99")
    other_visitor = show_ad(proxy, "127.0.0.3", top, ua, "203.0.113.50")
    direct = show_ad(server.url, "127.0.0.2", top, ua, "203.0.113.50")  # not through nginx
    server.stop()  # the store is the server's until it exits
    con = duckdb.connect(str(server.data_dir / "events.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT decision_id, visitor, valid FROM events WHERE type = 'impression'"
        ).fetchall()
    finally:
        con.close()
    visitor = {str(d): v for d, v, _ in rows}
    assert all(valid for _, _, valid in rows) and len(rows) == 4
    # The forged header changed nothing: 127.0.0.2 is one visitor through nginx or not.
    assert visitor[via_proxy] == visitor[via_proxy_again] == visitor[direct]
    assert visitor[other_visitor] != visitor[via_proxy]  # another address, another visitor
