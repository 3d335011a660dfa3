"""Signed tracking tokens for impression, viewable and click links.

A token carries everything the event row needs, so a tracking request needs no catalog
lookup. It is ``base64url(body + mac)`` without padding, where ``body`` is a compact
binary packing (a fixed big-endian struct of the version, decision UUID and 32-bit
integers, then one-byte enum codes and length-prefixed text) and
``mac`` is HMAC-SHA256 over the body, truncated to 16 bytes (128 bits), under a key
derived from the server secret for this one purpose.

:func:`verify` refuses, in this order and before trusting any byte: anything longer than
:data:`MAX_TOKEN_CHARS`, anything that is not canonical base64url, an unknown version, a
MAC that does not match (compared in constant time), a body that does not parse, and
only then an authentic token past its expiry (so "expired" is never said of a forgery).
Each refusal is a :class:`~backbeat.tracking.errors.TokenRejected` subclass.

Enum codes are append-only: never renumber one, or links already in the wild break.
A value with no code (a member added to the domain later) is written as text after
code 0, so signing never fails on a new enum member.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, TypeVar

from backbeat.domain.campaign import Objective
from backbeat.domain.events import EventType
from backbeat.domain.rules import Problems
from backbeat.domain.taxonomy import AdFormat, DeviceType, Size
from backbeat.errors import ValidationFailed
from backbeat.tracking.errors import (
    BadSignature,
    ExpiredToken,
    MalformedToken,
    TokenTooLong,
    WrongKind,
)

VERSION = 1
MAC_BYTES = 16
MAX_TOKEN_CHARS = 1024
MIN_SECRET_BYTES = 16
_MAX_U32 = (1 << 32) - 1
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_B64_VALUE = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
_UNUSED_BITS = (0, 0, 0x0F, 0x03)  # by len % 4 (1 is refused before)
_COUNTRY = re.compile("[A-Z]{2}")
# What uuid.UUID() accepts for the 36-character hyphenated form we write; other spellings
# (braces, urn:, no hyphens) take uuid.UUID itself. Hot path: every decision signs links.
_UUID36 = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _is_uuid(value: object) -> bool:
    if isinstance(value, str) and _UUID36.fullmatch(value):
        return True
    try:
        uuid.UUID(value)  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError):
        return False
    return True


@lru_cache(maxsize=256)
def _size_ok(text: object) -> bool | None:
    """True: a signable size; False: too large; None: not WIDTHxHEIGHT."""
    try:
        size = _parsed_size(text)
    except (ValidationFailed, TypeError):
        return None
    return 0 < size.width <= 0xFFFF and 0 < size.height <= 0xFFFF


@lru_cache(maxsize=256)
def _parsed_size(text: str) -> Size:
    return Size.parse(text)  # a frozen value: one per size a network sells

E = TypeVar("E", EventType, AdFormat, Objective, DeviceType)

KIND_CODES: dict[EventType, int] = {
    EventType.IMPRESSION: 1,
    EventType.VIEWABLE: 2,
    EventType.CLICK: 3,
}
FORMAT_CODES: dict[AdFormat, int] = {AdFormat.DISPLAY: 1, AdFormat.VIDEO: 2, AdFormat.NATIVE: 3}
OBJECTIVE_CODES: dict[Objective, int] = {
    Objective.AWARENESS: 1,
    Objective.TRAFFIC: 2,
    Objective.RETARGETING: 3,
}
DEVICE_CODES: dict[DeviceType, int] = {
    DeviceType.DESKTOP: 1,
    DeviceType.MOBILE: 2,
    DeviceType.TABLET: 3,
    DeviceType.OTHER: 4,
}
_KINDS = {c: m for m, c in KIND_CODES.items()}
_FORMATS = {c: m for m, c in FORMAT_CODES.items()}
_OBJECTIVES = {c: m for m, c in OBJECTIVE_CODES.items()}
_DEVICES = {c: m for m, c in DEVICE_CODES.items()}
_FLAG_GENRE_MATCH = 1
_FLAG_VISITOR = 2


# Not frozen, for the same reason as Event: one is built per decision and per beacon.
@dataclass(slots=True)
class TrackingPayload:
    """What a signed link vouches for: one served ad, and the dimensions of its event row.
    A value: never change one after it is built."""

    kind: EventType  # impression, viewable or click: each link is good for one kind only
    decision_id: str  # a UUID (v7 from the decision engine)
    campaign_id: int
    creative_id: int
    placement_id: int
    site_id: int
    advertiser_id: int
    publisher_id: int
    price_micros: int  # what this event bills: CPM/1000 on impressions, the CPC on clicks
    expires: int  # epoch seconds; the link is refused from this second on
    format: AdFormat
    size: str  # "300x250"
    genre: str
    genre_match: bool
    objective: Objective
    country: str  # ISO 3166-1 alpha-2, "ZZ" when unknown
    device: DeviceType
    visitor: str | None = None  # the visitor id at decision time, when there was one
    site_domain: str = ""  # the placement's site, for the page-domain check; "" = unchecked
    freq_window_s: int = 0  # the campaign's frequency-cap window; 0 = no cap to record

    def validate(self) -> TrackingPayload:
        """Raise ValidationFailed naming every field that cannot be signed."""
        if self._signable():
            return self
        p = Problems()
        p.check(self.kind in KIND_CODES, "kind", "must be impression, viewable or click")
        p.check(_is_uuid(self.decision_id), "decision_id", "must be a UUID")
        for name in (
            "campaign_id", "creative_id", "placement_id", "site_id", "advertiser_id",
            "publisher_id", "price_micros", "expires", "freq_window_s",
        ):
            value = getattr(self, name)
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_U32
            p.check(ok, name, f"must be an integer from 0 to {_MAX_U32}")
        size_ok = _size_ok(self.size) if isinstance(self.size, str) else None
        if size_ok is None:
            p.add("size", "must be WIDTHxHEIGHT")
        else:
            p.check(size_ok, "size", "too large")
        p.check(
            isinstance(self.country, str) and _COUNTRY.fullmatch(self.country) is not None,
            "country",
            "must be two capital letters",
        )
        for name, limit in (("genre", 64), ("visitor", 64), ("site_domain", 253)):
            text = getattr(self, name) or ""
            p.check(len(text.encode()) <= limit, name, f"at most {limit} bytes")
        p.raise_if_any()
        return self

    def _signable(self) -> bool:
        """True only when :meth:`validate` finds nothing, checked without building its
        messages (every decision signs a payload). It may say False of a payload that
        validate passes (an int subclass, another UUID spelling): validate decides then."""
        for v in (
            self.campaign_id, self.creative_id, self.placement_id, self.site_id,
            self.advertiser_id, self.publisher_id, self.price_micros, self.expires,
            self.freq_window_s,
        ):
            if type(v) is not int or not 0 <= v <= _MAX_U32:
                return False
        c, d = self.country, self.decision_id
        return (
            self.kind in KIND_CODES
            and type(d) is str
            and _UUID36.fullmatch(d) is not None
            and type(self.size) is str
            and _size_ok(self.size) is True
            and type(c) is str
            and len(c) == 2
            and c.isascii()
            and c.isalpha()
            and c.isupper()
            and _fits(self.genre, 64)
            and _fits(self.visitor, 64)
            and _fits(self.site_domain, 253)
        )


def _fits(text: str | None, limit: int) -> bool:
    """`text` (None: empty) is a str of at most `limit` bytes in UTF-8."""
    if text is None:
        return True
    if type(text) is not str:
        return False
    if text.isascii():
        return len(text) <= limit
    try:
        return len(text.encode()) <= limit
    except UnicodeEncodeError:
        return False


# packing -----------------------------------------------------------------------------
# Fixed part: version, decision id, six catalog ids, price, expiry, frequency window,
# width, height, flags, country. Then the enum codes and the texts.
_FIXED = struct.Struct(">B16s6IIIIHHB2s")
# The same layout in three pieces, so links that differ only in price share the others.
_HEAD = struct.Struct(">B16s6I")
_PRICE = struct.Struct(">I")
_AFTER_PRICE = struct.Struct(">IIHHB2s")
assert _HEAD.size + _PRICE.size + _AFTER_PRICE.size == _FIXED.size


class _Reader:
    """Reads the variable part; every overrun is a MalformedToken, never an IndexError."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise MalformedToken("truncated")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def text(self) -> str:
        n = self.byte()
        end = self.pos + n
        if end > len(self.data):
            raise MalformedToken("truncated")
        chunk = self.data[self.pos : end]
        self.pos = end
        try:
            return chunk.decode()
        except UnicodeDecodeError:
            raise MalformedToken("text is not UTF-8") from None

    def code(self, table: dict[int, E], enum: type[E]) -> E:
        code = self.byte()
        if code == 0:
            raw = self.text()
            try:
                return enum(raw)
            except ValueError:
                raise MalformedToken(f"unknown {enum.__name__} {raw[:20]!r}") from None
        member = table.get(code)
        if member is None:
            raise MalformedToken(f"unknown {enum.__name__} code {code}")
        return member


def _text(value: str) -> bytes:
    data = value.encode()
    return bytes((len(data),)) + data


def _code(value: E, table: dict[E, int]) -> bytes:
    code = table.get(value, 0)
    return bytes((code,)) if code else b"\x00" + _text(value.value)


@lru_cache(maxsize=64)
def _enum_codes(fmt: AdFormat, objective: Objective, device: DeviceType) -> bytes:
    return (
        _code(fmt, FORMAT_CODES) + _code(objective, OBJECTIVE_CODES) + _code(device, DEVICE_CODES)
    )


def _uuid_bytes(text: str) -> bytes:
    """The 16 bytes of a UUID that validate() accepted: the canonical 36-character form
    read directly, any other spelling through uuid.UUID."""
    if len(text) == 36 and _UUID36.fullmatch(text):
        return bytes.fromhex(text.replace("-", ""))
    return uuid.UUID(text).bytes


class _Packer:
    """The parts of a body that do not depend on the link's kind and price, built once, so
    the three links of one decision share one UUID parse, one size parse and one tail."""

    __slots__ = ("after_price", "head", "tail")

    def __init__(self, p: TrackingPayload) -> None:
        size = _parsed_size(p.size)
        flags = (_FLAG_GENRE_MATCH if p.genre_match else 0) | (_FLAG_VISITOR if p.visitor else 0)
        self.head = _HEAD.pack(
            VERSION, _uuid_bytes(p.decision_id), p.campaign_id, p.creative_id,
            p.placement_id, p.site_id, p.advertiser_id, p.publisher_id,
        )
        self.after_price = _AFTER_PRICE.pack(
            p.expires, p.freq_window_s, size.width, size.height, flags, p.country.encode("ascii")
        )
        self.tail = b"".join((
            _enum_codes(p.format, p.objective, p.device),
            _text(p.genre),
            _text(p.visitor) if p.visitor else b"",
            _text(p.site_domain),
        ))

    def body(self, kind: EventType, price_micros: int) -> bytes:
        return b"".join((
            self.head,
            _PRICE.pack(price_micros),
            self.after_price,
            _code(kind, KIND_CODES),
            self.tail,
        ))


def _pack(p: TrackingPayload) -> bytes:
    return _Packer(p).body(p.kind, p.price_micros)


def _uuid_text(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _unpack(body: bytes) -> TrackingPayload:
    if len(body) < _FIXED.size:
        raise MalformedToken("truncated")
    (
        _version, decision, campaign, creative, placement, site, advertiser, publisher,
        price, expires, freq_window, width, height, flags, country,
    ) = _FIXED.unpack_from(body)
    codes = body[_FIXED.size : _FIXED.size + 4]
    kind, fmt, objective, device = (
        _KINDS.get(codes[0]), _FORMATS.get(codes[1]), _OBJECTIVES.get(codes[2]),
        _DEVICES.get(codes[3]),
    ) if len(codes) == 4 else (None, None, None, None)
    if kind is None or fmt is None or objective is None or device is None:
        # An enum written as text, or a code that is not ours: the careful reader.
        r = _Reader(body, _FIXED.size)
        kind = r.code(_KINDS, EventType)
        fmt = r.code(_FORMATS, AdFormat)
        objective = r.code(_OBJECTIVES, Objective)
        device = r.code(_DEVICES, DeviceType)
        pos = r.pos
    else:  # every code is one byte we know (links this version signs)
        pos = _FIXED.size + 4
    texts = []
    for _ in range(3 if flags & _FLAG_VISITOR else 2):  # genre, [visitor], site domain
        if pos >= len(body):
            raise MalformedToken("truncated")
        end = pos + 1 + body[pos]
        if end > len(body):
            raise MalformedToken("truncated")
        try:
            texts.append(body[pos + 1 : end].decode())
        except UnicodeDecodeError:
            raise MalformedToken("text is not UTF-8") from None
        pos = end
    if pos != len(body):
        raise MalformedToken("trailing bytes")
    genre, site_domain = texts[0], texts[-1]
    visitor = texts[1] if flags & _FLAG_VISITOR else None
    return TrackingPayload(
        kind=kind, decision_id=_uuid_text(decision), campaign_id=campaign, creative_id=creative,
        placement_id=placement, site_id=site, advertiser_id=advertiser, publisher_id=publisher,
        price_micros=price, expires=expires, format=fmt, size=f"{width}x{height}", genre=genre,
        genre_match=bool(flags & _FLAG_GENRE_MATCH), objective=objective,
        country=country.decode("ascii", errors="replace"), device=device, visitor=visitor,
        site_domain=site_domain, freq_window_s=freq_window,
    )


# signing -----------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _token_key(secret: bytes) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValidationFailed.one("secret", f"must be at least {MIN_SECRET_BYTES} bytes")
    # A key of its own, so the secret's other uses (visitor salts, sessions) never share one.
    return hmac.new(secret, b"backbeat/tracking-token/v1", hashlib.sha256).digest()


class _MacState(Protocol):
    def copy(self) -> _MacState: ...
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


@lru_cache(maxsize=8)
def _keyed_mac(key: bytes) -> _MacState:
    h = hmac.new(key, digestmod=hashlib.sha256)
    # OpenSSL's HMAC state itself when hmac wraps one (CPython 3.11-3.13): copying it skips
    # the Python wrapper's own copy, a third of each MAC's cost. Same bytes either way.
    state: _MacState = getattr(h, "_hmac", None) or h
    return state


def _mac(key: bytes, body: bytes) -> bytes:
    # A copy of the keyed state: the same bytes as hmac.digest(key, body, "sha256") without
    # keying OpenSSL again per call, and without the one-shot's release of the GIL, which
    # for ~100 bytes costs more than the MAC (the thread then waits to get the GIL back
    # from the spool or subscription thread).
    h = _keyed_mac(key).copy()
    h.update(body)
    return h.digest()[:MAC_BYTES]


def _token(key: bytes, body: bytes) -> str:
    return base64.urlsafe_b64encode(body + _mac(key, body)).rstrip(b"=").decode("ascii")


def sign(payload: TrackingPayload, secret: bytes) -> str:
    """The URL-safe token for `payload` (about 150-200 characters)."""
    payload.validate()
    return _token(_token_key(secret), _pack(payload))


def sign_links(
    base: TrackingPayload, secret: bytes, imp_price_micros: int, click_price_micros: int
) -> tuple[str, str, str]:
    """The impression, viewable and click tokens of one served ad, in that order.

    Each equals ``sign(replace(base, kind=..., price_micros=...), secret)`` with the
    impression billed `imp_price_micros`, the viewable link 0 and the click
    `click_price_micros`; `base.kind` and `base.price_micros` are replaced (but must be
    valid themselves). The payload is validated and packed once instead of three times
    (this runs on every decision)."""
    base.validate()
    if not (
        type(imp_price_micros) is int and 0 <= imp_price_micros <= _MAX_U32
        and type(click_price_micros) is int and 0 <= click_price_micros <= _MAX_U32
    ):
        p = Problems()
        for name, value in (
            ("imp_price_micros", imp_price_micros), ("click_price_micros", click_price_micros)
        ):
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_U32
            p.check(ok, name, f"must be an integer from 0 to {_MAX_U32}")
        p.raise_if_any()
    key = _token_key(secret)
    packer = _Packer(base)
    return (
        _token(key, packer.body(EventType.IMPRESSION, imp_price_micros)),
        _token(key, packer.body(EventType.VIEWABLE, 0)),
        _token(key, packer.body(EventType.CLICK, click_price_micros)),
    )


def _decode(token: str) -> bytes:
    if not isinstance(token, str) or not _B64URL.fullmatch(token):
        raise MalformedToken("not base64url")
    if len(token) % 4 == 1:
        raise MalformedToken("bad base64 length")
    # Non-canonical encodings (different unused low bits in the last character) decode to
    # the same bytes; refuse them so one token has exactly one spelling. With 2 or 3
    # characters in the last group, its last 4 or 2 bits are unused and must be zero.
    unused = _UNUSED_BITS[len(token) % 4]
    if unused and _B64_VALUE[token[-1]] & unused:
        raise MalformedToken("non-canonical base64")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise MalformedToken("not base64url") from None
    return raw


def unpack_verified(token: str) -> TrackingPayload:
    """The payload of a token that :func:`verify` accepted before, in this server.

    For the ingest process, which counts the hits serving workers verified and spooled:
    the spool is the server's own, so checking the MAC, the spelling and the expiry a
    second time would only repeat the worker's work (and a changed secret or an expiry in
    between would drop an event that was acknowledged). Never call it on a token taken
    from a request. Raises MalformedToken for bytes that do not unpack."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError, TypeError):
        raise MalformedToken("not base64url") from None
    if len(raw) < 1 + MAC_BYTES + 16 or raw[0] != VERSION:
        raise MalformedToken("not a token of this version")
    return _unpack(raw[:-MAC_BYTES])


def _authentic(token: str, secret: bytes) -> bytes:
    """The body of a token whose MAC matches; otherwise raise TokenRejected."""
    if not isinstance(token, str):
        raise MalformedToken("not text")
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenTooLong(MAX_TOKEN_CHARS)
    raw = _decode(token)
    if len(raw) < 1 + MAC_BYTES + 16:
        raise MalformedToken("too short")
    if raw[0] != VERSION:
        raise MalformedToken(f"unknown version {raw[0]}")
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(_token_key(secret), body)):
        raise BadSignature()
    return body


def verify(token: str, secret: bytes, now: float) -> TrackingPayload:
    """The payload of an authentic, unexpired token; otherwise raise TokenRejected."""
    payload = _unpack(_authentic(token, secret))
    if now >= payload.expires:
        raise ExpiredToken(payload.expires)
    return payload


_EXPIRES = struct.Struct(">I")
_EXPIRES_AT = _HEAD.size + _PRICE.size  # the expiry's offset in the fixed part


def verify_kind(token: str, secret: bytes, now: float, kind: EventType) -> None:
    """Accept an authentic, unexpired token of `kind` without building its payload.

    For a serving worker, which spools the token itself (the ingest process unpacks it
    with :func:`unpack_verified`). The refusals are :func:`verify`'s, in its order, then
    WrongKind for a link of another kind. The body of a token whose MAC matches is one
    this server packed, so only the kind and the expiry are read from it."""
    body = _authentic(token, secret)
    if len(body) <= _FIXED.size:
        raise MalformedToken("truncated")
    got = _KINDS.get(body[_FIXED.size])
    if got is None:  # a kind written as text (no code yet): take the long way
        payload = _unpack(body)
        got, expires = payload.kind, payload.expires
    else:
        expires = _EXPIRES.unpack_from(body, _EXPIRES_AT)[0]
    if now >= expires:
        raise ExpiredToken(expires)
    if got is not kind:
        raise WrongKind(kind.value, got.value)
