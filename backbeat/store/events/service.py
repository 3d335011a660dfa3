"""The event service: the ingest process shares its event store, and its effects, with workers.

DuckDB lets one process hold the file, so the ingest process owns the store and runs an
:class:`EventService` on a Unix socket in the data directory (wire format and security in
:mod:`backbeat.store.events.ipc`). HTTP workers read the store through
:class:`~backbeat.store.events.remote.RemoteEventStore` and follow the effects the counting
pipeline produces through :class:`~backbeat.store.events.remote.Subscription`.

Threads: one accepts connections; each connection has its own thread, which answers an RPC
client's requests one at a time, or sends a subscriber the messages queued for it.
:meth:`EventService.publish` only enqueues, so it never blocks the ingest loop. A subscriber
whose queue overflows (its worker stopped reading) is disconnected and logged; its
:class:`~backbeat.store.events.remote.Subscription` reconnects and calls ``on_connect``, so
the worker re-warms the state whose effects it missed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import socket
import stat
import threading
import time
from collections.abc import Callable
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from backbeat.errors import BackbeatError, ValidationFailed
from backbeat.store.events import ipc
from backbeat.store.events.protocol import EventStore

log = logging.getLogger(__name__)

_COUNT_FILTERS = frozenset({"type", "campaign_id", "valid", "since", "until"})


class _Peer:
    """One accepted connection. Closing and waking go through a lock, so we never shut
    down a descriptor number that was closed and reused meanwhile."""

    def __init__(self, conn: Connection[Any, Any]) -> None:
        self.conn = conn
        self._lock = threading.Lock()
        self._closed = False

    def wake(self) -> None:
        with self._lock:
            if not self._closed:
                ipc.shutdown(self.conn)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self.conn.close()


class _Subscriber:
    def __init__(self, peer: _Peer, queue_size: int) -> None:
        self.peer = peer
        self.queue: queue.Queue[bytes | None] = queue.Queue(queue_size)
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        self.peer.wake()  # unblocks a send stuck on a full socket
        # Unblocks a sender waiting for a message; when the queue is full, the sender has
        # messages to take and sees `stopped` after the next.
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(None)


class EventService:
    """Serves `store`'s read side and published messages on the Unix socket `address`.

    `authkey`: see :func:`ipc.derive_authkey`. `queue_size`: messages buffered per subscriber
    before it counts as too slow and is disconnected."""

    def __init__(
        self,
        store: EventStore,
        address: Path,
        authkey: bytes,
        *,
        queue_size: int = 10_000,
        handshake_timeout_s: float = 5.0,
    ) -> None:
        if not authkey:
            raise ValueError("EventService needs a non-empty authkey")
        ipc.check_address(address)
        self.store = store
        self.address = address
        self._authkey = authkey
        self._queue_size = queue_size
        self._handshake_timeout_s = handshake_timeout_s
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._inode: int | None = None
        self._closed = False
        self._accepter: threading.Thread | None = None
        self._threads: set[threading.Thread] = set()
        self._peers: set[_Peer] = set()
        self._subscribers: list[_Subscriber] = []
        self.dropped = 0
        """Subscribers disconnected because their queue overflowed."""
        self._handlers: dict[str, Callable[[object], object]] = {}

    def handle(self, name: str, fn: Callable[[object], object]) -> None:
        """Answer ``RemoteEventStore.call(name, arg)`` with ``fn(arg)`` (on the connection's
        thread). For the few writes a worker must hand to the store's owner and wait for,
        such as a conversion, whose attribution needs the ingest process's touches."""
        if name in self._handlers:
            raise ValueError(f"a handler for {name!r} is already registered")
        self._handlers[name] = fn

    @property
    def subscribers(self) -> int:
        """Subscribers currently connected."""
        with self._lock:
            return len(self._subscribers)

    def start(self) -> None:
        """Bind the socket (mode 0600; a stale one left by a crash is replaced) and accept."""
        with self._lock:
            if self._sock is not None or self._closed:
                raise RuntimeError("EventService.start: already started or closed")
            self._remove_stale_socket()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(os.fspath(self.address))
                # Before listen(), every connect is refused: no peer ever sees a wider mode.
                os.chmod(self.address, 0o600)
                sock.listen(64)
            except BaseException:
                sock.close()
                raise
            self._sock = sock
            self._inode = os.stat(self.address).st_ino
            self._accepter = threading.Thread(
                target=self._accept_loop, args=(sock,), name="event-service", daemon=True
            )
            self._accepter.start()

    def publish(self, message: object) -> None:
        """Send `message` to every subscriber, in publishing order. Never blocks: it is
        pickled once and queued; a subscriber whose queue is full is disconnected."""
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            try:
                sub.queue.put_nowait(data)
            except queue.Full:
                self._drop(sub)

    def close(self) -> None:
        """Stop accepting, disconnect every peer, remove the socket file. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sock, peers, threads = self._sock, list(self._peers), list(self._threads)
            subscribers, self._subscribers = self._subscribers, []
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
            if self._accepter is not None:
                self._accepter.join(5.0)
            sock.close()
            self._unlink_own_socket()
        for sub in subscribers:
            sub.stop()
        for peer in peers:
            peer.wake()
        for thread in threads:
            thread.join(5.0)

    # connections -----------------------------------------------------------
    def _accept_loop(self, listening: socket.socket) -> None:
        while True:
            try:
                sock, _ = listening.accept()
            except OSError:
                if self._closed:
                    return
                log.exception("event service: accept failed")
                time.sleep(0.1)  # e.g. out of descriptors: do not spin
                continue
            thread = threading.Thread(
                target=self._serve, args=(sock,), name="event-service-conn", daemon=True
            )
            with self._lock:
                if self._closed:
                    sock.close()
                    return
                self._threads.add(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        conn = ipc.wrap(sock, self._handshake_timeout_s)
        peer = _Peer(conn)
        with self._lock:
            if self._closed:
                conn.close()
                return
            self._peers.add(peer)
        try:
            ipc.server_handshake(conn, self._authkey)
            kind = conn.recv()
            ipc.set_timeout(conn, None)  # idle pooled connections are normal
            if kind == "rpc":
                conn.send(self._hello())
                self._serve_rpc(conn)
            elif kind == "subscribe":
                self._serve_subscriber(peer)
            else:
                log.warning("event service: unknown connection kind %r", kind)
        except AuthenticationError:
            log.warning("event service: refused a peer that does not know the authkey")
        except (OSError, EOFError):
            log.info("event service: a peer went away during the handshake")
        except Exception:
            log.exception("event service: connection failed")
        finally:
            peer.close()
            with self._lock:
                self._peers.discard(peer)
                self._threads.discard(threading.current_thread())

    def _hello(self) -> tuple[str, dict[str, object]]:
        return ("ok", {"dialect": self.store.dialect, "protocol": ipc.PROTOCOL})

    def _serve_rpc(self, conn: Connection[Any, Any]) -> None:
        while True:
            try:
                request = conn.recv()
            except (OSError, EOFError):
                return
            reply = self._answer(request)
            try:
                data = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                data = pickle.dumps(("error", self._internal(exc, request)))
            try:
                conn.send_bytes(data)
            except OSError:
                return

    def _answer(self, request: object) -> tuple[str, object]:
        try:
            match request:
                case ("query", str() as sql, list() | tuple() as params):
                    return ("ok", self.store.query(sql, list(params)))
                case ("count", dict() as filters):
                    unknown = set(filters) - _COUNT_FILTERS
                    if unknown:
                        raise ValidationFailed.one("count", f"unknown filters {sorted(unknown)}")
                    return ("ok", self.store.count(**filters))
                case ("ids", None):
                    return ("ok", self.store.ids())
                case ("ids", list() | tuple() | set() | frozenset() as among):
                    return ("ok", self.store.ids(list(among)))
                case ("call", str() as name, arg) if name in self._handlers:
                    return ("ok", self._handlers[name](arg))
            raise ValueError(f"malformed request {str(request)[:200]}")
        except BackbeatError as exc:
            return ("error", ipc.encode_error(exc))
        except Exception as exc:
            return ("error", self._internal(exc, request))

    def _internal(self, exc: Exception, request: object) -> dict[str, object]:
        log.error("event service: %s failed", _describe(request), exc_info=exc)
        return ipc.encode_error(
            ipc.EventStoreUnavailable(
                f"the event store failed ({type(exc).__name__}); see the ingest process log"
            )
        )

    def _serve_subscriber(self, peer: _Peer) -> None:
        conn = peer.conn
        sub = _Subscriber(peer, self._queue_size)
        with self._lock:
            if self._closed:
                return
            # Registered before the greeting: nothing published after the client's
            # on_connect can be missed.
            self._subscribers.append(sub)
        try:
            conn.send(self._hello())
            while True:
                data = sub.queue.get()
                if data is None or sub.stopped.is_set():
                    return
                conn.send_bytes(data)
        except OSError:
            return
        finally:
            with self._lock:
                if sub in self._subscribers:
                    self._subscribers.remove(sub)

    def _drop(self, sub: _Subscriber) -> None:
        with self._lock:
            if sub not in self._subscribers:
                return
            self._subscribers.remove(sub)
            self.dropped += 1
        log.warning(
            "event service: a subscriber fell %d messages behind; disconnected it "
            "(it will reconnect and re-warm)",
            self._queue_size,
        )
        sub.stop()

    # socket file -----------------------------------------------------------
    def _remove_stale_socket(self) -> None:
        try:
            st = os.lstat(self.address)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise RuntimeError(f"{self.address} exists and is not a socket; not replacing it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.settimeout(2.0)
            probe.connect(os.fspath(self.address))
        except (ConnectionRefusedError, FileNotFoundError):
            self.address.unlink(missing_ok=True)  # left by a process that died
            return
        finally:
            probe.close()
        raise RuntimeError(f"another event service is listening on {self.address}")

    def _unlink_own_socket(self) -> None:
        try:
            if os.lstat(self.address).st_ino == self._inode:
                self.address.unlink()
        except FileNotFoundError:
            pass


def _describe(request: object) -> str:
    """A request as the log may show it: its kind and SQL, never a call's argument (a
    conversion carries a visitor id and a User-Agent)."""
    match request:
        case ("call", str() as name, _):
            return f"call {name!r}"
        case ("query", str() as sql, _):
            return f"query {sql[:300]!r}"
        case (str() as kind, *_):
            return repr(kind)
    return f"a {type(request).__name__}"
