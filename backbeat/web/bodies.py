"""Reading a request body on a public route: bounded in size and in time.

Anyone may POST to the conversion endpoint, and a token holder to ``/decide``. A body is
refused as soon as it is known to be too large (its Content-Length, or the bytes read so
far) rather than after it has all arrived; a client that stops sending gets a 408 after
`timeout_s` instead of holding a request open; and a body the server could not read (a
broken chunked encoding, a client gone mid-body) is a 400, never a 500 with a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from starlette.requests import ClientDisconnect, Request

from backbeat.errors import BackbeatError, FieldError, PayloadTooLarge

BODY_TIMEOUT_S = 10.0


class BodyUnreadable(BackbeatError):
    """The request's body could not be read in full."""

    def __init__(self, reason: str, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(f"body: {reason}", [FieldError("body", reason)], status, code)


async def capped(
    request: Request, limit: int, field: str = "body", shown: int | None = None
) -> AsyncGenerator[bytes, None]:
    """The body's chunks, raising PayloadTooLarge for `field` (naming the limit `shown`,
    default `limit`) once more than `limit` bytes came, or the Content-Length says so."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(field, shown or limit)
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise PayloadTooLarge(field, shown or limit)
        yield chunk


async def read_body(request: Request, limit: int, *, timeout_s: float = BODY_TIMEOUT_S) -> bytes:
    """The whole body, at most `limit` bytes, within `timeout_s` seconds.

    Raises PayloadTooLarge (413), BodyUnreadable with status 408 when the client is too
    slow, and BodyUnreadable (400) when the body cannot be read."""

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in capped(request, limit)])

    try:
        return await asyncio.wait_for(collect(), timeout_s)
    except TimeoutError:
        raise BodyUnreadable(
            f"not received within {timeout_s:g} s", 408, "request_timeout"
        ) from None
    except ClientDisconnect:  # the client went away, or the server could not parse the body
        raise BodyUnreadable("could not be read (a broken or incomplete body)") from None
