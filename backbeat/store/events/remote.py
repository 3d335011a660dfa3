"""What an HTTP worker uses of the event store held by the ingest process.

* :class:`RemoteEventStore`: the :class:`~backbeat.store.events.protocol.EventStore` read
  side (``query``, ``count``, ``ids``) over the socket of an
  :class:`~backbeat.store.events.service.EventService`. Workers never write the store: events
  reach it through the ingest process, so the write methods raise NotImplementedError.
* :class:`Subscription`: follows the messages the ingest process publishes (the effects of
  counting), reconnecting whenever the service restarts or drops us for falling behind, and
  calling ``on_connect`` after every (re)connection so the worker re-warms what it missed.

Failures of the service (down, timed out, refused, crashed in a query) surface as
:class:`~backbeat.store.events.ipc.EventStoreUnavailable`, status 503; domain errors raised by
the store (ValidationFailed...) arrive as the same class with the same status, code and fields.

Wiring (the socket path is the lead's choice, e.g. ``<data_dir>/events.sock``)::

    key = derive_authkey(settings.secret())
    # ingest process
    service = EventService(store, sock_path, key); service.start()
    service.publish(effects)                     # after each counted batch; never blocks
    service.close()
    # each HTTP worker
    events = RemoteEventStore(sock_path, key, dialect="duckdb")  # lazy: no connect yet
    sub = Subscription(sock_path, key, on_message=apply_effects, on_connect=rewarm)
    sub.start(); ...; sub.close(); events.close()
"""

from __future__ import annotations

import logging
import pickle
import random
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyarrow as pa

from backbeat.domain.events import Event, EventType
from backbeat.store.events import ipc
from backbeat.store.events.ipc import EventStoreUnavailable

log = logging.getLogger(__name__)

_READ_ONLY = (
    "RemoteEventStore is read-only: HTTP workers never write the event store; events reach it "
    "through the ingest process, which alone holds the store"
)


class RemoteEventStore:
    """The read side of the event store of the service listening on `address`.

    Thread-safe: each call borrows a connection from a small pool (opening one when none is
    idle, keeping at most `max_idle`). A pooled connection found broken (the service
    restarted) is dropped with the rest of the pool and the call retried once on a fresh one
    (reads are idempotent). `timeout_s` bounds the wait for each answer, `connect_timeout_s`
    connecting and the handshake. `dialect` is fetched from the service when not given (the
    constructor then connects, and raises EventStoreUnavailable if the service is down)."""

    def __init__(
        self,
        address: Path,
        authkey: bytes,
        *,
        dialect: str | None = None,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        max_idle: int = 8,
    ) -> None:
        if not authkey:
            raise ValueError("RemoteEventStore needs a non-empty authkey")
        ipc.check_address(address)
        self.address = address
        self._authkey = authkey
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._max_idle = max_idle
        self._idle: list[Connection[Any, Any]] = []
        self._lock = threading.Lock()
        self._closed = False
        self.dialect: str = dialect or ""
        if dialect is None:
            self._release(self._open())

    # EventStore ------------------------------------------------------------
    def append_batch(self, events: Sequence[Event]) -> int:
        """Not available: see the module docstring."""
        raise NotImplementedError(_READ_ONLY)

    def append_table(self, table: pa.Table) -> int:
        """Not available: see the module docstring."""
        raise NotImplementedError(_READ_ONLY)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """See :meth:`EventStore.query`."""
        rows = self._call(("query", sql, list(params)))
        assert isinstance(rows, list)
        return rows

    def count(
        self,
        *,
        type: EventType | None = None,
        campaign_id: int | None = None,
        valid: bool | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """See :meth:`EventStore.count`."""
        filters = {
            "type": type,
            "campaign_id": campaign_id,
            "valid": valid,
            "since": since,
            "until": until,
        }
        total = self._call(("count", {k: v for k, v in filters.items() if v is not None}))
        assert isinstance(total, int)
        return total

    def ids(self, among: Collection[str] | None = None) -> set[str]:
        """See :meth:`EventStore.ids`."""
        found = self._call(("ids", None if among is None else list(among)))
        assert isinstance(found, set)
        return found

    def call(self, name: str, arg: object) -> object:
        """Run the handler the service registered as `name` on `arg` and return its result
        (see :meth:`EventService.handle`). Domain errors arrive as themselves.

        Handlers write, so a call is never retried: it runs on a fresh connection (no stale
        pooled one to find broken after a restart), and a failure after sending raises
        EventStoreUnavailable rather than risk running the handler twice."""
        with self._lock:
            if self._closed:
                raise EventStoreUnavailable("the remote event store is closed")
        conn = self._open()
        try:
            conn.send(("call", name, arg))
            reply = conn.recv()
        except (EOFError, OSError):
            raise EventStoreUnavailable(
                f"event service at {self.address} did not answer {name!r}"
            ) from None
        finally:
            conn.close()
        return _unwrap(reply)

    def close(self) -> None:
        """Close the pooled connections; later calls raise EventStoreUnavailable. Idempotent."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # internals -------------------------------------------------------------
    def _open(self) -> Connection[Any, Any]:
        conn, dialect = ipc.connect(self.address, self._authkey, "rpc", self.connect_timeout_s)
        if self.dialect and dialect != self.dialect:
            conn.close()
            raise EventStoreUnavailable(
                f"event service at {self.address} speaks {dialect}, expected {self.dialect}"
            )
        self.dialect = dialect
        ipc.set_timeout(conn, self.timeout_s)
        return conn

    def _acquire(self) -> tuple[Connection[Any, Any], bool]:
        with self._lock:
            if self._closed:
                raise EventStoreUnavailable("the remote event store is closed")
            if self._idle:
                return self._idle.pop(), True
        return self._open(), False

    def _release(self, conn: Connection[Any, Any]) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def _discard_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _call(self, request: tuple[object, ...]) -> object:
        while True:
            conn, pooled = self._acquire()
            try:
                conn.send(request)
                reply = conn.recv()
            except (EOFError, ConnectionError):
                conn.close()
                if pooled:  # the service restarted since: so did every idle connection
                    self._discard_idle()
                    continue
                raise EventStoreUnavailable(
                    f"event service at {self.address} closed the connection"
                ) from None
            except OSError:
                conn.close()
                raise EventStoreUnavailable(
                    f"event service at {self.address} did not answer within {self.timeout_s}s"
                ) from None
            self._release(conn)
            return _unwrap(reply)


def _unwrap(reply: object) -> object:
    match reply:
        case ("ok", result):
            return result
        case ("error", payload):
            raise ipc.decode_error(payload)
    raise EventStoreUnavailable("event service sent a malformed reply")


class Subscription:
    """Receives what the ingest process publishes, on a daemon thread, until :meth:`close`.

    `on_message` runs on that thread for each message, in publishing order; an exception
    in it is logged and the next message delivered. `on_connect` runs after every
    (re)connection, before the messages published since the service registered us: the
    worker re-warms there, since it may have missed messages while disconnected (service
    restarted, or dropped us for falling behind). If `on_connect` raises, it is logged and
    the connection dropped and retried, so a failed re-warm is retried too. Reconnection
    waits between `min_backoff_s` and `max_backoff_s`, doubling after each failure."""

    def __init__(
        self,
        address: Path,
        authkey: bytes,
        on_message: Callable[[object], None],
        on_connect: Callable[[], None] | None = None,
        *,
        connect_timeout_s: float = 5.0,
        min_backoff_s: float = 0.05,
        max_backoff_s: float = 2.0,
    ) -> None:
        if not authkey:
            raise ValueError("Subscription needs a non-empty authkey")
        ipc.check_address(address)
        self.address = address
        self._authkey = authkey
        self._on_message = on_message
        self._on_connect = on_connect
        self._connect_timeout_s = connect_timeout_s
        self._min_backoff_s = min_backoff_s
        self._max_backoff_s = max_backoff_s
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards _conn against a close racing its wake-up
        self._conn: Connection[Any, Any] | None = None
        self._thread: threading.Thread | None = None
        self.connects = 0
        """Completed (re)connections."""
        self._ready = threading.Event()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("Subscription.start: already started")
        self._thread = threading.Thread(target=self._run, name="event-subscription", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the first connection is registered with the service and its
        `on_connect` has run (every message published from then on will be delivered);
        False if `timeout` seconds passed first."""
        return self._ready.wait(timeout)

    def close(self) -> None:
        """Stop receiving and wait for the thread (at most 5 s). Idempotent."""
        self._stop.set()
        with self._lock:
            if self._conn is not None:
                ipc.shutdown(self._conn)  # wakes the blocked recv
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)

    def _run(self) -> None:
        delay = self._min_backoff_s
        failures = 0
        while not self._stop.is_set():
            try:
                conn, _ = ipc.connect(
                    self.address, self._authkey, "subscribe", self._connect_timeout_s
                )
            except EventStoreUnavailable as exc:
                failures += 1
                level = logging.WARNING if failures == 1 else logging.DEBUG
                log.log(level, "event subscription: %s; retrying", exc.message)
                self._stop.wait(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._max_backoff_s)
                continue
            failures = 0
            if self._follow(conn):
                delay = self._min_backoff_s
            else:
                self._stop.wait(delay)
                delay = min(delay * 2, self._max_backoff_s)

    def _follow(self, conn: Connection[Any, Any]) -> bool:
        """Deliver `conn`'s messages until it breaks; False when on_connect failed."""
        with self._lock:
            if self._stop.is_set():
                conn.close()
                return True
            self._conn = conn
        try:
            ipc.set_timeout(conn, None)
            self.connects += 1
            if self._on_connect is not None:
                try:
                    self._on_connect()
                except Exception:
                    log.exception("event subscription: on_connect failed; reconnecting")
                    return False
            self._ready.set()
            while True:
                data = conn.recv_bytes()
                try:
                    message = pickle.loads(data)  # noqa: S301 - authenticated peer, see ipc
                except Exception:
                    log.exception("event subscription: cannot unpickle a message; skipped")
                    continue
                self._deliver(message)
        except (OSError, EOFError):
            if not self._stop.is_set():
                log.warning("event subscription: lost the event service; reconnecting")
            return True
        finally:
            with self._lock:
                self._conn = None
                conn.close()

    def _deliver(self, message: object) -> None:
        try:
            self._on_message(message)
        except Exception:
            log.exception("event subscription: on_message failed; continuing")
