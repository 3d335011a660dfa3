"""The benchmark table: published CTR and CPM ranges by channel, each with its source and year.

Sources differ a lot in quality, and the product says so: every row carries a `quality` note an
artist can read. Rates are fractions (0.005 is 0.5%); CPMs are amounts in US dollars per 1,000
impressions. Both are `Decimal` so the published figures are kept exactly as published.

`high=None` means the source gives only a floor ("over 2%", "from $2.50"); `low == high` means
the source gives one average figure, against which a result can only be below or above.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Metric(StrEnum):
    CTR = "ctr"
    CPM = "cpm"


@dataclass(frozen=True)
class Benchmark:
    """One published figure for one channel and metric."""

    key: str
    label: str
    metric: Metric
    low: Decimal
    high: Decimal | None
    source: str
    year: int | None
    quality: str
    aliases: tuple[str, ...] = ()

    @property
    def is_point(self) -> bool:
        """True when the source gives one average, not a range."""
        return self.high is not None and self.low == self.high

    @property
    def citation(self) -> str:
        """Source and year as one line, e.g. 'WordStream (2016 data)'."""
        return f"{self.source} ({self.year} data)" if self.year else self.source


_SEED = "Backbeat seed document"
_SEED_NOTE = (
    "A rule of thumb from the project's seed document, not a measured study; "
    "use it as a rough guide only."
)

BENCHMARKS: tuple[Benchmark, ...] = (
    # --- CTR ------------------------------------------------------------------------------
    Benchmark(
        "music-display",
        "music display ads",
        Metric.CTR,
        Decimal("0.005"),
        Decimal("0.01"),
        _SEED,
        None,
        _SEED_NOTE,
        ("display", "music-site-display", "backbeat"),
    ),
    Benchmark(
        "social",
        "social media ads",
        Metric.CTR,
        Decimal("0.01"),
        Decimal("0.02"),
        _SEED,
        None,
        _SEED_NOTE,
        ("social-media",),
    ),
    Benchmark(
        "video",
        "video ads",
        Metric.CTR,
        Decimal("0.02"),
        None,
        _SEED,
        None,
        _SEED_NOTE + " It gives only a floor (over 2%).",
        ("music-video",),
    ),
    Benchmark(
        "music-overall",
        "music ads overall",
        Metric.CTR,
        Decimal("0.005"),
        Decimal("0.03"),
        _SEED,
        None,
        _SEED_NOTE + " The range is wide because it spans every format.",
        ("music",),
    ),
    Benchmark(
        "google-display-network",
        "Google Display Network ads (all industries)",
        Metric.CTR,
        Decimal("0.0046"),
        Decimal("0.0046"),
        "WordStream, Google Ads industry benchmarks",
        2016,
        "An average over WordStream's US client accounts, all industries; not music-specific. "
        "Editions of the same study also quote 0.35%, so treat it as approximate.",
        ("gdn", "google-display"),
    ),
    Benchmark(
        "standard-banner",
        "standard banner ads",
        Metric.CTR,
        Decimal("0.0010"),
        Decimal("0.0010"),
        "MediaMind Global Benchmark Report",
        2012,
        "A large ad-server measurement, but old: banner CTRs have drifted since.",
        ("banner",),
    ),
    Benchmark(
        "in-stream-video",
        "in-stream video ads",
        Metric.CTR,
        Decimal("0.0111"),
        Decimal("0.0111"),
        "DG MediaMind Global Benchmark Report",
        2012,
        "A large ad-server measurement (US figure), but old; other reports of the same year "
        "put in-stream video lower.",
        ("instream-video", "pre-roll"),
    ),
    Benchmark(
        "facebook",
        "Facebook ads (all industries)",
        Metric.CTR,
        Decimal("0.0090"),
        Decimal("0.0090"),
        "WordStream, Facebook ads industry benchmarks",
        2017,
        "CTR (all): counts every click, including likes, comments and profile clicks. "
        "Link CTR is lower, so compare like with like. Not music-specific.",
        ("meta", "facebook-ads"),
    ),
    # --- CPM (US dollars per 1,000 impressions) ---------------------------------------------
    Benchmark(
        "music-display",
        "display ads on music sites",
        Metric.CPM,
        Decimal("2.50"),
        None,
        _SEED,
        None,
        _SEED_NOTE + " It gives only a floor (from $2.50).",
        ("display", "music-site-display", "backbeat"),
    ),
    Benchmark(
        "google-display-network",
        "Google Display Network ads",
        Metric.CPM,
        Decimal("2.80"),
        Decimal("2.80"),
        "Industry average, as collected in the Backbeat reference notes",
        None,
        "An approximate average across advertisers; prices vary by country and season.",
        ("gdn", "google-display"),
    ),
    Benchmark(
        "facebook",
        "Facebook ads",
        Metric.CPM,
        Decimal("7"),
        Decimal("7"),
        "Industry average, as collected in the Backbeat reference notes",
        None,
        "An approximate average across advertisers; prices vary by country, season and objective.",
        ("meta", "facebook-ads"),
    ),
    Benchmark(
        "tiktok",
        "TikTok ads",
        Metric.CPM,
        Decimal("10"),
        Decimal("10"),
        "Industry average, as collected in the Backbeat reference notes",
        None,
        "An approximate average across advertisers; prices vary by country and season.",
        ("tiktok-ads",),
    ),
    Benchmark(
        "spotify-audio",
        "Spotify audio ads (US)",
        Metric.CPM,
        Decimal("15"),
        Decimal("25"),
        "Spotify Ad Studio US pricing, as collected in the Backbeat reference notes",
        None,
        "The usual US range for self-serve audio ads; other countries cost less.",
        ("spotify", "spotify-ad-studio"),
    ),
)
