"""Visitor identity without profiling people: a daily-salted hash by default.

**Cookieless (default).** The visitor id is ``BLAKE2b(key=daily_salt, IP | UA)``, as
Plausible does it, but network-wide rather than per site: a frequency cap, a reach figure
and a view-through conversion on the advertiser's own site all need the same person to get
the same id on every site of the network that day. The salt is derived from the server
secret and the UTC date
(``HMAC-SHA256(secret, "backbeat/visitor-salt/v1/" + date)``) rather than drawn at random
and kept in memory for 24 h, because every serving process and host must compute the
same id for the same person on the same day (frequency caps and unique clicks depend on
it), and a random in-memory salt would differ per worker and vanish on restart. The
price: anyone holding the secret can recompute a past day's salt, so "the salt is
deleted" holds only as long as the secret is kept; rotating the secret forgets all past
days at once.

Trade-offs to know:
- The reach window is the salt's lifetime: the same person on five days counts as five
  visitors, so reach is daily at most (never sum daily reach either way).
- The id spans the network's sites for one day only; nothing links one day to the next.
- The raw IP only enters the hash; it is never returned, stored or put on an event.

**Cookie mode** (``BACKBEAT_VISITOR_MODE=cookie``): a random first-party id kept in a
cookie; cross-day reach and caps work, at the cost of a cookie (consent rules apply).

**DNT / GPC.** ``DNT: 1`` or ``Sec-GPC: 1`` makes the visitor :data:`ANONYMOUS`: the
event still counts, but no frequency, retargeting or attribution profile is built and no
cookie is set. Abuse limits (rate, double clicks) still need a short-lived key, so every
visitor also gets :attr:`Visitor.key`: a daily-salted hash of IP and UA that is used only
for counters expiring within minutes to hours and never written to an event.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from backbeat.config import VisitorMode

ANONYMOUS = "anon"
VISITOR_COOKIE = "bb_vid"
COOKIE_MAX_AGE_S = 180 * 86_400  # the longest retargeting lookback an audience may use
_COOKIE_RE = re.compile(r"c[A-Za-z0-9_-]{22}")


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who an event came from, as far as Backbeat may know."""

    id: str  # stored on the event: "h…" (cookieless), "c…" (cookie) or ANONYMOUS
    key: str  # for short-lived abuse counters only; never stored on an event
    new_cookie: str | None = None  # cookie mode: a freshly minted id the route must set

    @property
    def anonymous(self) -> bool:
        return self.id == ANONYMOUS


def wants_privacy(dnt: str | None, gpc: str | None) -> bool:
    """True when the browser sends ``DNT: 1`` or ``Sec-GPC: 1``."""
    return (dnt or "").strip() == "1" or (gpc or "").strip() == "1"


@lru_cache(maxsize=4)
def daily_salt(secret: bytes, day: date) -> bytes:
    """The salt for one UTC day; the same in every process that shares the secret."""
    label = f"backbeat/visitor-salt/v1/{day.isoformat()}".encode()
    return hmac.new(secret, label, hashlib.sha256).digest()


def utc_day(now: float) -> date:
    return datetime.fromtimestamp(now, tz=UTC).date()


_EPOCH_DAY = date(1970, 1, 1)


def _salt_at(secret: bytes, now: float) -> bytes:
    # Unix time has no leap seconds, so the UTC day is a floor division: no datetime per call.
    return _salt_of_day(secret, int(now // 86_400))


@lru_cache(maxsize=4)
def _salt_of_day(secret: bytes, day_number: int) -> bytes:
    return daily_salt(secret, _EPOCH_DAY + timedelta(days=day_number))


def _canonical_ipv4(ip: str) -> bool:
    """True for a dotted quad that `ipaddress` would print back unchanged."""
    parts = ip.split(".")
    return len(parts) == 4 and all(
        p.isascii() and p.isdigit() and (p == "0" or p[0] != "0") and int(p) <= 255
        for p in parts
    )


@lru_cache(maxsize=16_384)
def _normal_ip(ip: str) -> str:
    # Cached: a visitor sends several requests (a page's slots, then their beacons).
    ip = ip.strip()
    if _canonical_ipv4(ip):  # the common case, without building an ipaddress object
        return ip
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return addr.compressed


@lru_cache(maxsize=8)
def _keyed(salt: bytes, person: bytes) -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=16, key=salt, person=person)


def _fields(*parts: str) -> bytes:
    """The parts, each length-prefixed (no ambiguous joins), as the hash reads them."""
    out = []
    for part in parts:
        data = part.encode("utf-8", errors="surrogatepass")
        out.append(len(data).to_bytes(4, "big"))
        out.append(data)
    return b"".join(out)


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _hash(salt: bytes, person: bytes, fields: bytes) -> str:
    h = _keyed(salt, person).copy()  # copying a keyed state skips re-keying per request
    h.update(fields)
    # 16 bytes are 22 base64url characters once the "==" padding is cut.
    return binascii.b2a_base64(h.digest(), newline=False)[:22].translate(_URLSAFE).decode()


def cookieless_id(secret: bytes, now: float, ip: str, user_agent: str) -> str:
    """The visitor id for (IP, UA) on the UTC day of `now`: "h" + 22 characters."""
    return "h" + _hash(_salt_at(secret, now), b"bb-visitor", _fields(_normal_ip(ip), user_agent))


def abuse_key(secret: bytes, now: float, ip: str, user_agent: str) -> str:
    """The short-lived key for rate limits and double clicks (site-independent)."""
    return "k" + _hash(_salt_at(secret, now), b"bb-abuse-key", _fields(_normal_ip(ip), user_agent))


def new_cookie_id(token: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A random first-party visitor id: "c" + 22 characters (128 bits)."""
    return "c" + base64.urlsafe_b64encode(token(16)).rstrip(b"=").decode("ascii")


def valid_cookie(value: str | None) -> bool:
    return value is not None and _COOKIE_RE.fullmatch(value) is not None


def identify(
    *,
    secret: bytes,
    mode: VisitorMode,
    now: float,
    ip: str,
    user_agent: str,
    dnt: str | None = None,
    gpc: str | None = None,
    cookie: str | None = None,
    token: Callable[[int], bytes] = secrets.token_bytes,
) -> Visitor:
    """Resolve the visitor of one request. `dnt`/`gpc` are the raw header values."""
    salt, fields = _salt_at(secret, now), _fields(_normal_ip(ip), user_agent)  # once for both
    key = "k" + _hash(salt, b"bb-abuse-key", fields)
    if wants_privacy(dnt, gpc):
        return Visitor(ANONYMOUS, key)
    if mode is VisitorMode.COOKIE:
        if cookie is not None and valid_cookie(cookie):
            return Visitor(cookie, key)
        fresh = new_cookie_id(token)
        return Visitor(fresh, key, new_cookie=fresh)
    return Visitor("h" + _hash(salt, b"bb-visitor", fields), key)
