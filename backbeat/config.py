"""Settings: one typed object, read from BACKBEAT_* environment variables (and `.env`).

Build it with :func:`load_settings`; nothing here runs at import time. Invalid values raise
:class:`~backbeat.errors.ConfigError` whose message names the environment variable.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backbeat.errors import ConfigError
from backbeat.priority import Background

ENV_PREFIX = "BACKBEAT_"
SECRET_FILE = "secret.key"  # noqa: S105 - a file name, not a secret


class EventsBackend(StrEnum):
    DUCKDB = "duckdb"
    CLICKHOUSE = "clickhouse"


class CountersBackend(StrEnum):
    MEMORY = "memory"
    REDIS = "redis"


class VisitorMode(StrEnum):
    """How visitors are identified: a daily-salted hash (no cookie) or a first-party cookie."""

    COOKIELESS = "cookieless"
    COOKIE = "cookie"


class Settings(BaseSettings):
    """Every knob Backbeat has. Field names map to BACKBEAT_<NAME> variables."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Path("./var")
    catalog_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite in the data directory"
    )
    events_backend: EventsBackend = EventsBackend.DUCKDB
    events_path: Path | None = Field(default=None, description="DuckDB file; default in data dir")
    duckdb_threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="threads DuckDB may use for writes and reports; default: one per core",
    )
    clickhouse_url: str | None = None
    counters_backend: CountersBackend = CountersBackend.MEMORY
    redis_url: str = "redis://127.0.0.1:6379/0"

    base_url: str = "http://127.0.0.1:8000"
    floor_cpm: Decimal = Field(default=Decimal("2.50"), description="network floor, per mille")
    currency: str = "USD"
    timezone: str = "UTC"
    secret_key: SecretStr | None = None

    # tracking
    link_ttl_seconds: int = Field(default=4 * 3600, gt=0)
    click_dedupe_seconds: int = Field(default=30 * 60, gt=0)
    max_events_per_visitor_minute: int = Field(default=120, gt=0)
    trusted_country_header: str | None = None
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For names the visitor's address",
    )
    visitor_mode: VisitorMode = VisitorMode.COOKIELESS
    click_attribution_days: int = Field(default=7, gt=0, le=90)
    view_attribution_days: int = Field(default=1, ge=0, le=30)

    # writer
    flush_rows: int = Field(default=5000, gt=0)
    flush_interval_ms: int = Field(default=500, gt=0)
    group_commit_ms: float = Field(
        default=0.0,
        ge=0,
        le=50,
        description="how long an acknowledged event may wait for others to share its fsync",
    )

    # processes
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="serving processes; above 1, one more process counts and stores events",
    )
    handoff_seal_ms: int = Field(default=100, gt=0, le=10_000)
    ingest_nice: int = Field(
        default=5,
        ge=0,
        le=19,
        description="how much lower than serving the background work runs (Unix "
        "niceness): the ingest process's counting and storing threads (in one process, "
        "the event writer's thread) and DuckDB's own threads, with its checkpoints five "
        "steps lower still (all of a checkpoint with one DuckDB thread, the ingest's "
        "default); it catches up while the workers wait",
    )
    ingest_io_idle: bool = Field(
        default=True,
        description="put the same background work in the idle I/O class, so that DuckDB's "
        "writes and checkpoints reach the disk only while the beacons' fdatasyncs are not "
        "waiting for it (Linux, with the mq-deadline or BFQ I/O scheduler)",
    )

    # uploads & web
    max_upload_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    secure_cookies: bool = False
    login_attempts_per_15min: int = Field(default=10, gt=0)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if len(v) != 3 or not v.isalpha():
            raise ValueError("must be a 3-letter ISO 4217 code such as USD")
        return v.upper()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {v!r}") from exc
        return v

    @field_validator("floor_cpm")
    @classmethod
    def _floor(cls, v: Decimal) -> Decimal:
        if v < 0 or v > 1000:
            raise ValueError("must be between 0 and 1000")
        if v.as_tuple().exponent < -3:  # type: ignore[operator]
            raise ValueError("at most 3 decimal places")
        return v

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: str) -> str:
        parse_networks(v.split(","))
        return v

    @field_validator("catalog_url")
    @classmethod
    def _catalog(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return v

    @model_validator(mode="after")
    def _backends(self) -> Settings:
        if self.events_backend is EventsBackend.CLICKHOUSE and not self.clickhouse_url:
            raise ValueError("BACKBEAT_CLICKHOUSE_URL is required when events_backend=clickhouse")
        return self

    # derived ---------------------------------------------------------------
    @property
    def resolved_catalog_url(self) -> str:
        return self.catalog_url or f"sqlite:///{(self.data_dir / 'catalog.db').resolve()}"

    @property
    def background(self) -> Background:
        """The priority of background work (`ingest_nice`, `ingest_io_idle`)."""
        return Background(self.ingest_nice, self.ingest_io_idle)

    @property
    def resolved_events_path(self) -> Path:
        return self.events_path or self.data_dir / "events.duckdb"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def handoff_dir(self) -> Path:
        """Where serving workers spool hits and decision events for the ingest process."""
        return self.data_dir / "handoff"

    @property
    def ingest_socket(self) -> Path:
        """The ingest process's Unix socket (event store reads, effects, conversions)."""
        return self.data_dir / "ingest.sock"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def floor_cpm_micros(self) -> int:
        return int(self.floor_cpm * 1_000_000)

    def secret(self) -> bytes:
        """The signing secret. Call :func:`ensure_secret` first when none was configured."""
        if self.secret_key is None:
            raise ConfigError("BACKBEAT_SECRET_KEY is not set and no secret file was loaded")
        return self.secret_key.get_secret_value().encode()


def parse_networks(
    specs: Iterable[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses or networks ("10.0.0.1", "10.0.0.0/8", "::1"), blanks skipped, as
    ``BACKBEAT_TRUSTED_PROXIES`` lists them; raises ValueError naming a bad one."""
    out = []
    for spec in filter(None, (s.strip() for s in specs)):
        try:
            out.append(ipaddress.ip_network(spec, strict=False))
        except ValueError:
            raise ValueError(f"{spec!r} is not an IP address or network") from None
    return tuple(out)


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment plus explicit overrides, naming any bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = "_".join(str(p) for p in err["loc"]) if err["loc"] else ""
            name = f"{ENV_PREFIX}{loc.upper()}" if loc else "settings"
            parts.append(f"{name}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(parts)) from None


def ensure_secret(settings: Settings) -> Settings:
    """Load the signing secret from `<data_dir>/secret.key`, creating it (mode 0600) if absent."""
    if settings.secret_key is not None:
        return settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    value = path.read_text().strip()
    if len(value) < 32:
        raise ConfigError(f"{path}: the secret must be at least 32 characters")
    return settings.model_copy(update={"secret_key": SecretStr(value)})
