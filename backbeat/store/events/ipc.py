"""Wire format shared by the event service (ingest process) and its clients (HTTP workers).

Transport: a Unix domain socket in the data directory, created with mode 0600, framed by
:class:`multiprocessing.connection.Connection` (length-prefixed messages). Both ends first
prove they know the authkey with a mutual HMAC-SHA256 challenge (:func:`server_handshake`,
:func:`client_handshake`); only the handshake's raw bytes are read before that, so nothing
from an unauthenticated peer is ever unpickled. After it, messages are pickled. That is
acceptable because both ends are our own processes: reaching the socket needs the service
user's file permissions, and speaking on it needs the authkey, which :func:`derive_authkey`
derives from the server secret (``Settings.secret()``) that only those processes hold.

We build sockets ourselves instead of using ``Listener``/``Client``: those perform the
handshake without any timeout (one stuck peer would block every accept, a hung service
every worker), ``Listener.close`` does not wake a blocked ``accept``, and Python 3.11's
handshake uses HMAC-MD5.

Conversation: the client sends its kind (``"rpc"`` or ``"subscribe"``) and the service
answers ``("ok", {"dialect": ..., "protocol": 1})``. An RPC request is ``("query", sql,
params)``, ``("count", filters)`` or ``("ids", among)``, answered by ``("ok", result)`` or
``("error", payload)`` where `payload` comes from :func:`encode_error`. A subscriber
then only receives published messages.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from backbeat import errors
from backbeat.errors import BackbeatError, FieldError

PROTOCOL = 1
KINDS = ("rpc", "subscribe")
_MAGIC = b"backbeat-events/1:"
_NONCE = 32
_MAX_UNIX_PATH = 107  # sun_path is 108 bytes on Linux, NUL included


class EventStoreUnavailable(BackbeatError):
    """The event service cannot answer (down, timed out, refused us, or failed). Status 503."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], 503, "event_store_unavailable")


def derive_authkey(secret: bytes) -> bytes:
    """The event service's authkey, derived from the server secret (never the secret itself)."""
    if not secret:
        raise ValueError("derive_authkey needs a non-empty secret")
    return hmac.new(secret, b"backbeat event service authkey v1", hashlib.sha256).digest()


def check_address(address: Path) -> None:
    if len(os.fsencode(address)) > _MAX_UNIX_PATH:
        raise ValueError(
            f"event service socket path {address} is longer than {_MAX_UNIX_PATH} bytes "
            "(a Unix socket limit): use a shorter data directory"
        )


# handshake -------------------------------------------------------------------
def _proof(authkey: bytes, role: bytes, nonce: bytes) -> bytes:
    return hmac.new(authkey, role + nonce, hashlib.sha256).digest()


def server_handshake(conn: Connection[Any, Any], authkey: bytes) -> None:
    """Challenge the peer, then prove ourselves. Raises AuthenticationError, OSError, EOFError."""
    nonce = os.urandom(_NONCE)
    conn.send_bytes(_MAGIC + nonce)
    answer = conn.recv_bytes(256)
    expected = _proof(authkey, b"client", nonce)
    if len(answer) != 2 * _NONCE or not hmac.compare_digest(answer[:_NONCE], expected):
        conn.send_bytes(b"refused")
        raise AuthenticationError("the peer does not know the authkey")
    conn.send_bytes(_proof(authkey, b"server", answer[_NONCE:]))


def client_handshake(conn: Connection[Any, Any], authkey: bytes) -> None:
    """Answer the service's challenge and check its proof. Raises as `server_handshake`."""
    challenge = conn.recv_bytes(256)
    if len(challenge) != len(_MAGIC) + _NONCE or not challenge.startswith(_MAGIC):
        raise AuthenticationError("the peer is not a Backbeat event service")
    mine = os.urandom(_NONCE)
    conn.send_bytes(_proof(authkey, b"client", challenge[len(_MAGIC) :]) + mine)
    proof = conn.recv_bytes(256)
    if not hmac.compare_digest(proof, _proof(authkey, b"server", mine)):
        raise AuthenticationError("the event service refused our authkey (or does not know it)")


# sockets ---------------------------------------------------------------------
def set_timeout(conn: Connection[Any, Any], seconds: float | None) -> None:
    """Bound every blocking read and write on `conn` (None: wait forever).

    A read that times out raises BlockingIOError; the connection must then be discarded."""
    sock = socket.socket(fileno=conn.fileno())
    try:
        _set_sock_timeout(sock, seconds)
    finally:
        sock.detach()


def _set_sock_timeout(sock: socket.socket, seconds: float | None) -> None:
    sock.setblocking(True)
    secs = 0.0 if seconds is None else max(seconds, 0.001)
    tv = struct.pack("ll", int(secs), int((secs % 1) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


def shutdown(conn: Connection[Any, Any]) -> None:
    """Wake any thread blocked reading or writing `conn` (it then sees EOF or EPIPE).

    Call only while `conn` is certainly open: a closed descriptor may be reused."""
    sock = socket.socket(fileno=conn.fileno())
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the peer already went away
    finally:
        sock.detach()


def wrap(sock: socket.socket, timeout_s: float | None) -> Connection[Any, Any]:
    """A Connection owning `sock`'s descriptor, with `timeout_s` on each read and write."""
    _set_sock_timeout(sock, timeout_s)
    return Connection(sock.detach())


def connect(
    address: Path, authkey: bytes, kind: str, timeout_s: float
) -> tuple[Connection[Any, Any], str]:
    """Connect, authenticate and introduce ourselves as `kind`; return the connection
    (reads still bounded by `timeout_s`) and the service's SQL dialect.

    Raises EventStoreUnavailable, with the reason, on any failure."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout_s)
        sock.connect(os.fspath(address))
        conn = wrap(sock, timeout_s)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or type(exc).__name__
        raise EventStoreUnavailable(
            f"event service at {address} is not reachable: {reason}"
        ) from None
    try:
        client_handshake(conn, authkey)
        conn.send(kind)
        reply = conn.recv()
    except AuthenticationError as exc:
        conn.close()
        raise EventStoreUnavailable(f"event service at {address}: {exc}") from None
    except (OSError, EOFError):
        conn.close()
        raise EventStoreUnavailable(
            f"event service at {address} did not complete the handshake within {timeout_s}s"
        ) from None
    match reply:
        case ("ok", {"dialect": str() as dialect}):
            return conn, dialect
    conn.close()
    raise EventStoreUnavailable(f"event service at {address} sent an unexpected greeting")


# errors ----------------------------------------------------------------------
_ERROR_CLASSES: dict[str, type[BackbeatError]] = {
    cls.__name__: cls
    for cls in (
        BackbeatError,
        errors.ValidationFailed,
        errors.NotFound,
        errors.Conflict,
        errors.IllegalTransition,
        errors.Unauthorized,
        errors.Forbidden,
        errors.PayloadTooLarge,
        errors.RateLimited,
        EventStoreUnavailable,
    )
}


def encode_error(exc: BackbeatError) -> dict[str, object]:
    """Plain data for `exc`, naming the nearest whitelisted class in its ancestry (so a
    subclass defined elsewhere arrives as, say, ValidationFailed with its own code)."""
    name = next(c.__name__ for c in type(exc).__mro__ if _ERROR_CLASSES.get(c.__name__) is c)
    return {
        "class": name,
        "message": exc.message,
        "status": exc.status,
        "code": exc.code,
        "fields": [(f.field, f.reason) for f in exc.fields],
    }


def decode_error(payload: object) -> BackbeatError:
    """The error `encode_error` described; only whitelisted classes are ever built, and
    without running their constructors (whose signatures differ)."""
    if not isinstance(payload, dict):
        return EventStoreUnavailable("event service sent a malformed error")
    cls = _ERROR_CLASSES.get(str(payload.get("class")), BackbeatError)
    exc = cls.__new__(cls)
    fields = [FieldError(str(f), str(r)) for f, r in payload.get("fields", [])]
    BackbeatError.__init__(
        exc,
        str(payload.get("message", "")),
        fields,
        int(payload.get("status", 503)),
        str(payload.get("code", "event_store_unavailable")),
    )
    return exc
