"""The event service and its clients, over real sockets, real processes and a real DuckDB file.

Processes are started with the spawn method; their targets are the `_child_*` functions.
Every wait is bounded by a generous timeout, and synchronised on a queue or event, not a sleep.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import queue
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pytest

from backbeat.domain.events import EventType
from backbeat.errors import BackbeatError, FieldError, NotFound, ValidationFailed
from backbeat.importers.errors import ImportFailed
from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.ipc import (
    EventStoreUnavailable,
    decode_error,
    derive_authkey,
    encode_error,
)
from backbeat.store.events.protocol import EventStore
from backbeat.store.events.remote import RemoteEventStore, Subscription
from backbeat.store.events.service import EventService
from tests.store.events.builders import BASE_TS, make_events

KEY = derive_authkey(b"test-secret-" * 4)
N_EVENTS = 300
WAIT_S = 60.0  # upper bound on any wait; a healthy run takes a fraction of it
SPAWN = multiprocessing.get_context("spawn")


def _reads(store: EventStore, among: list[str]) -> dict[str, object]:
    """The same reads, against the local or a remote store."""
    return {
        "dialect": store.dialect,
        "grouped": store.query(
            "SELECT type, valid, count(*), sum(price_micros), min(ts) FROM events "
            "GROUP BY ALL ORDER BY ALL"
        ),
        "params": store.query(
            "SELECT id, ts, drop_reason FROM events WHERE campaign_id = ? AND ts >= ? ORDER BY id",
            [2, BASE_TS + timedelta(seconds=30)],
        ),
        "rollup": store.query("FROM events_hourly ORDER BY ALL"),
        "count": store.count(),
        "count_filtered": store.count(
            type=EventType.CLICK, valid=True, since=BASE_TS, until=BASE_TS + timedelta(minutes=1)
        ),
        "count_campaign": store.count(campaign_id=3, valid=False),
        "ids": store.ids(),
        "ids_among": store.ids(among),
        "ids_empty": store.ids([]),
    }


def _among(store: EventStore) -> list[str]:
    return [*sorted(store.ids())[::37], "00000000-0000-7000-8000-000000000000"]


# children (spawned processes) -------------------------------------------------
def _child_reads(address: str, among: list[str], out: Any) -> None:
    store = RemoteEventStore(Path(address), KEY)
    try:
        out.put(("ok", _reads(store, among)))
    except BaseException as exc:
        out.put(("error", repr(exc)))
    finally:
        store.close()


def _child_service(db: str, address: str, commands: Any, ready: Any) -> None:
    """Serve `db` until told None; publish every other command."""
    store = DuckDBEventStore(db)
    service = EventService(store, Path(address), KEY)
    service.start()
    ready.set()
    try:
        while (command := commands.get()) is not None:
            service.publish(command)
    finally:
        service.close()
        store.close()


def _child_subscriber(address: str, n: int, out: Any) -> None:
    """Report "connected", then the `n` messages received."""
    got: list[object] = []
    done = threading.Event()

    def on_message(message: object) -> None:
        got.append(message)
        if len(got) == n:
            done.set()

    sub = Subscription(Path(address), KEY, on_message, lambda: out.put("connected"))
    sub.start()
    try:
        done.wait(WAIT_S)
        out.put(got)
    finally:
        sub.close()


def _start_service_process(db: Path, address: Path) -> tuple[BaseProcess, Any]:
    commands = SPAWN.Queue()
    ready = SPAWN.Event()
    proc = SPAWN.Process(target=_child_service, args=(str(db), str(address), commands, ready))
    proc.start()
    assert ready.wait(WAIT_S), "the service process did not start"
    return proc, commands


# fixtures -----------------------------------------------------------------------
@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path)
    store.append_batch(make_events(N_EVENTS))
    store.close()
    return path


@pytest.fixture
def address(tmp_path: Path) -> Path:
    return tmp_path / "events.sock"


@pytest.fixture
def local(db: Path) -> Iterator[DuckDBEventStore]:
    store = DuckDBEventStore(db)
    yield store
    store.close()


@pytest.fixture
def service(local: DuckDBEventStore, address: Path) -> Iterator[EventService]:
    svc = EventService(local, address, KEY)
    svc.start()
    yield svc
    svc.close()


@pytest.fixture
def remote(service: EventService, address: Path) -> Iterator[RemoteEventStore]:
    store = RemoteEventStore(address, KEY, timeout_s=WAIT_S)
    yield store
    store.close()


class Collector:
    """Subscription callbacks that record into queues, so tests can wait on them."""

    def __init__(self) -> None:
        self.messages: queue.Queue[object] = queue.Queue()
        self.connects: queue.Queue[int] = queue.Queue()

    def on_message(self, message: object) -> None:
        self.messages.put(message)

    def on_connect(self) -> None:
        self.connects.put(1)

    def next_messages(self, n: int) -> list[object]:
        return [self.messages.get(timeout=WAIT_S) for _ in range(n)]


@pytest.fixture
def subscribe(address: Path) -> Iterator[Callable[..., tuple[Subscription, Collector]]]:
    subs: list[Subscription] = []

    def make(**kwargs: Any) -> tuple[Subscription, Collector]:
        got = Collector()
        sub = Subscription(address, KEY, kwargs.pop("on_message", got.on_message), got.on_connect)
        subs.append(sub)
        sub.start()
        return sub, got

    yield make
    for sub in subs:
        sub.close()


# RPC ------------------------------------------------------------------------------
def test_reads_from_threads_equal_the_local_store(
    local: DuckDBEventStore, remote: RemoteEventStore
) -> None:
    as_protocol: EventStore = remote  # structural typing, checked by mypy
    among = _among(local)
    expected = _reads(local, among)
    assert local.count() == N_EVENTS and len(local.ids(among)) == len(among) - 1
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _reads(as_protocol, among), range(24)))
    assert all(r == expected for r in results)
    assert remote.dialect == "duckdb"


def test_reads_from_another_process_equal_the_local_store(
    local: DuckDBEventStore, service: EventService, address: Path
) -> None:
    among = _among(local)
    out = SPAWN.Queue()
    proc = SPAWN.Process(target=_child_reads, args=(str(address), among, out))
    proc.start()
    status, result = out.get(timeout=WAIT_S)
    proc.join(WAIT_S)
    assert status == "ok", result
    assert result == _reads(local, among)


def test_validation_failed_arrives_as_itself(
    local: DuckDBEventStore, remote: RemoteEventStore
) -> None:
    for sql in ("DELETE FROM events", "SELECT 1; SELECT 2", "SELEC oops"):
        with pytest.raises(ValidationFailed) as here:
            local.query(sql)
        with pytest.raises(ValidationFailed) as there:
            remote.query(sql)
        assert type(there.value) is ValidationFailed
        assert there.value.status == 422 and there.value.code == "validation_failed"
        assert there.value.fields == here.value.fields
        assert there.value.fields[0].field == "sql"
        assert there.value.message == here.value.message
    assert local.count() == N_EVENTS


def test_other_failures_are_503_and_logged_by_the_service(
    remote: RemoteEventStore, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, "backbeat.store.events.service"),
        pytest.raises(EventStoreUnavailable) as err,
    ):
        remote.query("SELECT no_such_column FROM events")
    assert err.value.status == 503 and "BinderException" in err.value.message
    assert any("no_such_column" in r.getMessage() for r in caplog.records)
    assert remote.count() == N_EVENTS  # the connection survives the error


def test_writes_are_refused_clearly(remote: RemoteEventStore) -> None:
    with pytest.raises(NotImplementedError, match="ingest process"):
        remote.append_batch(make_events(1))
    assert remote.count() == N_EVENTS


def test_error_serialisation_keeps_class_fields_and_code() -> None:
    sent = ImportFailed.at(4, "budget", "not a number")  # not whitelisted: nearest ancestor
    got = decode_error(encode_error(sent))
    assert type(got) is ValidationFailed
    assert (got.status, got.code, got.fields) == (422, "import_failed", sent.fields)
    missing = decode_error(encode_error(NotFound("campaign", 7)))
    assert type(missing) is NotFound and missing.status == 404
    assert str(missing) == "campaign 7 not found"
    forged = decode_error({"class": "SystemExit", "message": "m", "status": 500, "code": "x"})
    assert type(forged) is BackbeatError and forged.fields == []
    assert isinstance(decode_error("junk"), EventStoreUnavailable)
    assert got.fields == [FieldError("row 4.budget", "not a number")]


# availability --------------------------------------------------------------------
def test_service_down_is_a_quick_503(tmp_path: Path) -> None:
    nowhere = tmp_path / "none.sock"
    started = time.monotonic()
    with pytest.raises(EventStoreUnavailable) as err:
        RemoteEventStore(nowhere, KEY)  # fetches the dialect: connects at once
    store = RemoteEventStore(nowhere, KEY, dialect="duckdb")  # connects lazily
    with pytest.raises(EventStoreUnavailable):
        store.count()
    assert err.value.status == 503 and "not reachable" in err.value.message
    assert time.monotonic() - started < 5


def test_a_silent_peer_times_out(address: Path) -> None:
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.bind(str(address))
    mute.listen(8)  # connections queue up, nobody ever answers
    try:
        store = RemoteEventStore(address, KEY, dialect="duckdb", connect_timeout_s=0.3)
        started = time.monotonic()
        with pytest.raises(EventStoreUnavailable, match="handshake"):
            store.ids()
        assert time.monotonic() - started < 10
    finally:
        mute.close()


def test_stopped_service_times_out_then_recovers(db: Path, address: Path) -> None:
    proc, commands = _start_service_process(db, address)
    assert proc.pid is not None
    try:
        store = RemoteEventStore(address, KEY, timeout_s=0.5)
        assert store.count() == N_EVENTS
        os.kill(proc.pid, signal.SIGSTOP)
        _, status = os.waitpid(proc.pid, os.WUNTRACED)  # returns once every thread stopped
        assert os.WIFSTOPPED(status)
        try:
            started = time.monotonic()
            with pytest.raises(EventStoreUnavailable, match="did not answer"):
                store.count()
            assert time.monotonic() - started < 10
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        store.timeout_s = WAIT_S
        assert store.count() == N_EVENTS
        store.close()
    finally:
        commands.put(None)
        proc.join(WAIT_S)
    assert proc.exitcode == 0
    assert not address.exists()


def test_clients_reconnect_after_the_service_restarts(
    db: Path, address: Path, subscribe: Callable[..., tuple[Subscription, Collector]]
) -> None:
    first, commands = _start_service_process(db, address)
    store = RemoteEventStore(address, KEY, timeout_s=WAIT_S)
    assert store.count() == N_EVENTS
    idle = RemoteEventStore(address, KEY, timeout_s=WAIT_S)  # pools a connection, then waits
    sub, got = subscribe()
    got.connects.get(timeout=WAIT_S)
    commands.put({"seq": 1})
    assert got.next_messages(1) == [{"seq": 1}]

    first.kill()  # a crash: the socket file stays behind
    first.join(WAIT_S)
    assert address.exists()
    started = time.monotonic()
    with pytest.raises(EventStoreUnavailable):
        store.count()
    assert time.monotonic() - started < 5

    second, commands = _start_service_process(db, address)  # replaces the stale socket
    try:
        assert store.count() == N_EVENTS
        assert idle.count() == N_EVENTS  # its pooled connection died: retried transparently
        got.connects.get(timeout=WAIT_S)  # on_connect again: time to re-warm
        commands.put({"seq": 2})
        assert got.next_messages(1) == [{"seq": 2}]
        assert sub.connects == 2
    finally:
        store.close()
        idle.close()
        commands.put(None)
        second.join(WAIT_S)
    assert second.exitcode == 0


# security and lifecycle ----------------------------------------------------------
def test_socket_is_private_even_with_a_permissive_umask(
    local: DuckDBEventStore, address: Path
) -> None:
    old = os.umask(0)
    try:
        svc = EventService(local, address, KEY)
        svc.start()
    finally:
        os.umask(old)
    try:
        mode = os.stat(address).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    finally:
        svc.close()


def test_wrong_authkey_is_refused(
    service: EventService, address: Path, remote: RemoteEventStore
) -> None:
    refusals: queue.Queue[logging.LogRecord] = queue.Queue()
    handler = logging.handlers.QueueHandler(refusals)
    handler.setLevel(logging.WARNING)
    service_log = logging.getLogger("backbeat.store.events.service")
    service_log.addHandler(handler)
    try:
        intruder = RemoteEventStore(address, derive_authkey(b"another secret"), dialect="duckdb")
        with pytest.raises(EventStoreUnavailable, match="authkey") as err:
            intruder.count()
        assert err.value.status == 503
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # speaks garbage
        raw.connect(str(address))
        raw.recv(1024)
        raw.sendall(b"\x00\x00\x00\x40" + b"\x80" * 64)
        assert raw.recv(1024)[4:] == b"refused"
        raw.close()
        for _ in range(2):  # the service logs each refusal (just after answering it)
            assert "does not know the authkey" in refusals.get(timeout=WAIT_S).getMessage()
    finally:
        service_log.removeHandler(handler)
    assert remote.count() == N_EVENTS


def test_stale_socket_is_replaced_but_not_a_live_one_or_a_file(
    local: DuckDBEventStore, address: Path, tmp_path: Path
) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(address))
    stale.close()  # as a killed process leaves it
    svc = EventService(local, address, KEY)
    svc.start()
    try:
        with pytest.raises(RuntimeError, match="another event service"):
            EventService(local, address, KEY).start()
        plain = tmp_path / "plain"
        plain.write_text("data")
        with pytest.raises(RuntimeError, match="not a socket"):
            EventService(local, plain, KEY).start()
        assert plain.read_text() == "data"
        assert RemoteEventStore(address, KEY).count() == N_EVENTS
    finally:
        svc.close()


def test_close_is_idempotent_and_disconnects_everyone(
    service: EventService,
    address: Path,
    remote: RemoteEventStore,
    subscribe: Callable[..., tuple[Subscription, Collector]],
) -> None:
    _, got = subscribe()
    got.connects.get(timeout=WAIT_S)
    assert remote.count() == N_EVENTS  # leaves an idle pooled connection
    service.close()
    service.close()
    assert not address.exists()
    with pytest.raises(EventStoreUnavailable):
        remote.count()
    service.publish("into the void")  # no subscriber left: a no-op
    assert service.subscribers == 0


# subscriptions ---------------------------------------------------------------------
def test_subscribers_receive_every_message_in_order(
    service: EventService,
    address: Path,
    subscribe: Callable[..., tuple[Subscription, Collector]],
) -> None:
    n = 2000
    out = SPAWN.Queue()
    proc = SPAWN.Process(target=_child_subscriber, args=(str(address), n, out))
    proc.start()
    collectors = [subscribe()[1] for _ in range(2)]
    for got in collectors:
        got.connects.get(timeout=WAIT_S)
    assert out.get(timeout=WAIT_S) == "connected"
    sent = [{"seq": i, "spend": {41: i * 1000}, "type": EventType.CLICK} for i in range(n)]
    for message in sent:
        service.publish(message)
    for got in collectors:
        assert got.next_messages(n) == sent
    assert out.get(timeout=WAIT_S) == sent
    proc.join(WAIT_S)
    assert service.dropped == 0


def test_a_failing_callback_does_not_stop_delivery(
    service: EventService,
    subscribe: Callable[..., tuple[Subscription, Collector]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivered: queue.Queue[object] = queue.Queue()

    def picky(message: object) -> None:
        if message == "bad":
            raise ValueError("cannot apply")
        delivered.put(message)

    with caplog.at_level(logging.ERROR, "backbeat.store.events.remote"):
        _, got = subscribe(on_message=picky)
        got.connects.get(timeout=WAIT_S)
        for message in ("a", "bad", "b"):
            service.publish(message)
        assert [delivered.get(timeout=WAIT_S) for _ in range(2)] == ["a", "b"]
    assert any("on_message failed" in r.getMessage() for r in caplog.records)


def test_a_slow_subscriber_is_dropped_without_blocking_and_reconnects(
    local: DuckDBEventStore,
    address: Path,
    subscribe: Callable[..., tuple[Subscription, Collector]],
) -> None:
    svc = EventService(local, address, KEY, queue_size=4)
    svc.start()
    release = threading.Event()
    seen: queue.Queue[object] = queue.Queue()

    def stuck(message: object) -> None:
        seen.put(message)
        release.wait(WAIT_S)  # the worker stops reading

    try:
        _, got = subscribe(on_message=stuck)
        got.connects.get(timeout=WAIT_S)
        blob = b"x" * 256 * 1024  # fills the socket buffers after a few messages
        slowest = 0.0
        for i in range(200):
            started = time.monotonic()
            svc.publish(("effect", i, blob))
            slowest = max(slowest, time.monotonic() - started)
            if svc.dropped:
                break
        # Dropped: removed from the subscribers in the same step (it may have reconnected
        # by now, so the count of subscribers says nothing here).
        assert svc.dropped == 1
        assert slowest < 1.0  # publish never waits for a subscriber
        release.set()
        got.connects.get(timeout=WAIT_S)  # reconnected: on_connect again
        svc.publish("after")
        while (message := seen.get(timeout=WAIT_S)) != "after":  # a prefix, in order, first
            assert isinstance(message, tuple) and message[2] == blob
        assert svc.subscribers == 1
    finally:
        release.set()
        svc.close()


def test_wait_ready_waits_for_the_first_connection_and_its_on_connect(
    service: EventService, address: Path
) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_on_connect() -> None:
        entered.set()
        assert release.wait(WAIT_S)

    sub = Subscription(address, KEY, lambda message: None, slow_on_connect)
    sub.start()
    try:
        assert entered.wait(WAIT_S)
        assert not sub.wait_ready(0.2)  # registered, but on_connect has not finished
        release.set()
        assert sub.wait_ready(WAIT_S) and sub.connects == 1
        service.publish("after")  # and it is delivered: the service has it registered
    finally:
        release.set()
        sub.close()


def test_wait_ready_gives_up_when_no_service_answers(tmp_path: Path) -> None:
    sub = Subscription(tmp_path / "nobody.sock", KEY, lambda message: None)
    sub.start()
    try:
        assert not sub.wait_ready(0.3)
    finally:
        sub.close()


def test_registered_handlers_answer_calls_once_each(
    service: EventService, remote: RemoteEventStore
) -> None:
    seen: list[object] = []

    def record(arg: object) -> object:
        seen.append(arg)
        if arg == "bad":
            raise ValidationFailed.one("order", "refused by the handler")
        return {"echo": arg}

    service.handle("record", record)
    with pytest.raises(ValueError):
        service.handle("record", record)  # one handler per name
    assert remote.call("record", ("a", 1)) == {"echo": ("a", 1)}
    with pytest.raises(ValidationFailed) as refused:
        remote.call("record", "bad")
    assert refused.value.fields[0].field == "order"
    with pytest.raises(EventStoreUnavailable):
        remote.call("nobody-registered-this", 1)  # a malformed request: a 503, logged
    assert seen == [("a", 1), "bad"]  # each call ran its handler exactly once


def test_a_failing_call_is_logged_by_name_without_its_argument(
    service: EventService, remote: RemoteEventStore, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(arg: object) -> object:
        raise TypeError("a bug in the handler")

    service.handle("conversion", broken)
    secret = "visitor-4f2a Mozilla/5.0 (private)"
    with (
        caplog.at_level(logging.ERROR, "backbeat.store.events.service"),
        pytest.raises(EventStoreUnavailable),
    ):
        remote.call("conversion", {"visitor": secret})
    (record,) = [r for r in caplog.records if "failed" in r.getMessage()]
    assert "'conversion'" in record.getMessage()
    assert secret not in record.getMessage() and "TypeError" in caplog.text
    assert secret not in caplog.text
