"""The publisher's and the advertisers' side of the browser tests: a tiny HTTP server.

It serves the publisher pages (templates in ``pages/``, filled per test with placement ids
and the ad server's URL), the creatives' PNG images and the advertisers' landing pages.
Chromium reaches it under made-up host names (``lyricshub.test``, ``music.test``) that
``--host-resolver-rules`` maps to 127.0.0.1, so the ad server's domain check sees the
publisher's real site domain.
"""

from __future__ import annotations

import html
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from PIL import Image

PAGES = Path(__file__).parent / "pages"
SITE_HOST = "lyricshub.test"
LANDING_HOST = "music.test"
ASSET_HOST = "127.0.0.1"


def png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    """A solid PNG of the given size: a real image, so the `load` event really fires."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def page(template: str, **values: object) -> str:
    """A page from ``pages/<template>`` with ``$name`` placeholders filled."""
    text = (PAGES / template).read_text(encoding="utf-8")
    return Template(text).substitute({k: str(v) for k, v in values.items()})


def landing_page(title: str) -> str:
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><h1>{html.escape(title)}</h1></html>"
    )


class PageServer:
    """Serves registered paths (the query string is ignored) on 127.0.0.1 in a thread."""

    def __init__(self) -> None:
        self._content: dict[str, tuple[str, bytes]] = {}
        self._delays: dict[str, float] = {}
        self._lock = threading.Lock()
        content, delays, lock = self._content, self._delays, self._lock

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with lock:
                    found = content.get(path)
                    delay = delays.get(path, 0.0)
                if delay:
                    time.sleep(delay)  # a slow network or a heavy creative
                if found is None:
                    self.send_error(404)
                    return
                ctype, body = found
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: pytest shows failures, not every page load."""

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def origin(self, host: str) -> str:
        return f"http://{host}:{self.port}"

    def add(self, path: str, body: str | bytes, ctype: str = "text/html; charset=utf-8") -> str:
        """Serve `body` at `path`; returns the path."""
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._content[path] = (ctype, data)
        return path

    def remove(self, path: str) -> tuple[str, bytes] | None:
        """Stop serving `path` (it answers 404); returns what it served, to add back."""
        with self._lock:
            return self._content.pop(path, None)

    def delay(self, path: str, seconds: float) -> None:
        """Answer `path` only after `seconds` (0 to answer at once again)."""
        with self._lock:
            self._delays[path] = seconds

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
