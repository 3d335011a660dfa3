"""Hot counters: budgets, frequency and nonces. In-process by default, Redis at scale."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from backbeat.config import CountersBackend, Settings
from backbeat.errors import ConfigError
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.counters.protocol import Counters, Spend

__all__ = ["Counters", "MemoryCounters", "Spend", "open_counters"]


def open_counters(settings: Settings, *, prefix: str = "backbeat:") -> Counters:
    """The Counters backend the settings ask for.

    ``memory`` (the default) suits one serving process. ``redis`` connects to
    ``BACKBEAT_REDIS_URL`` and checks it answers now, so a wrong URL fails at startup with
    a :class:`ConfigError` naming the variable rather than on the first ad request.
    """
    if settings.counters_backend is CountersBackend.MEMORY:
        return MemoryCounters()
    try:
        import redis

        from backbeat.store.counters.redis_counters import RedisCounters
    except ImportError:  # pragma: no cover - depends on the install extras
        raise ConfigError(
            "BACKBEAT_COUNTERS_BACKEND=redis needs the redis package: pip install 'backbeat[redis]'"
        ) from None
    try:
        counters = RedisCounters.from_url(settings.redis_url, prefix=prefix)
    except ValueError as exc:
        raise ConfigError(f"BACKBEAT_REDIS_URL: {exc}") from None
    try:
        counters.ping()
    except redis.RedisError as exc:
        counters.close()
        where = _redact(settings.redis_url)
        raise ConfigError(f"BACKBEAT_REDIS_URL: cannot reach Redis at {where}: {exc}") from None
    return counters


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))
