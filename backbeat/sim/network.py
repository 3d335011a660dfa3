"""The demo network as data: publishers, sites and their placements, advertisers, campaigns and
creatives, plus what only the simulation knows (the truth the analytics must rediscover).

Nothing here touches a database; :mod:`backbeat.sim.seeds` writes it into a catalog. Domains
and destination URLs use the reserved ``.example`` top-level domain (RFC 2606), so the demo
never points at somebody's real site.

The sim-only truth:

- a placement's ``viewability``: the chance a reader scrolls it into view for a second;
- a creative's ``appeal``: the chance a reader who *saw* it clicks, before genre match,
  device and fatigue (so its CTR per impression is roughly appeal x viewability);
- a campaign's ``music`` genres: the genres whose fans care about it (used for the click
  model even when the campaign's targeting says otherwise);
- conversion rates and order values for store and ticket destinations.

The planted problems (see docs/demo.md): the weak creative "Lyric card", the festival
campaign whose genre targeting is cleared a quarter of the way in (``widen_after``), the
broad awareness sampler, the bot-heavy metal forum and the Ireland-only tour campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

from backbeat.domain.campaign import FrequencyCap, Objective, Pricing
from backbeat.domain.creative import DestinationKind
from backbeat.domain.money import MICROS, Micros
from backbeat.domain.taxonomy import DeviceType, Size

LEADERBOARD = Size(728, 90)
MPU = Size(300, 250)
MOBILE = Size(320, 50)
DESKTOPS = frozenset({DeviceType.DESKTOP, DeviceType.TABLET})
PHONES = frozenset({DeviceType.MOBILE})
EVERY_DEVICE = DESKTOPS | PHONES


def usd(amount: str) -> Micros:
    """Whole micros of a decimal dollar string ("4.50" -> 4_500_000), exactly."""
    whole, _, cents = amount.partition(".")
    return int(whole) * MICROS + int((cents + "000000")[:6])


@dataclass(frozen=True)
class PlacementSeed:
    name: str
    size: Size
    floor: Micros
    devices: frozenset[DeviceType]  # page layouts that carry this slot
    viewability: float  # sim truth: P(seen for >= 1 s | rendered)


@dataclass(frozen=True)
class SiteSeed:
    key: str
    publisher: str
    name: str
    domain: str
    country: str
    genres: frozenset[str]
    daily_pageviews: int  # at traffic scale 1.0, people only
    placements: tuple[PlacementSeed, ...]
    countries: tuple[tuple[str, float], ...]  # where its readers are
    devices: tuple[tuple[DeviceType, float], ...]
    audience_tz: str  # the readers' clock, for the daily traffic curve
    sections: tuple[str, ...]  # URL paths pages live under
    bot_share: float = 0.03  # share of page views from bots that run the ad tag


@dataclass(frozen=True)
class PublisherSeed:
    key: str
    name: str
    email: str
    revenue_share_pct: int = 70


@dataclass(frozen=True)
class AdvertiserSeed:
    key: str
    name: str
    email: str
    colour: tuple[int, int, int]  # the brand colour of its creatives
    accent: tuple[int, int, int]


@dataclass(frozen=True)
class CreativeSeed:
    key: str
    name: str
    size: Size
    headline: str  # the big line on the image
    tagline: str
    cta: str
    appeal: float  # sim truth: P(click | seen) for a fan of the music
    alt: str


@dataclass(frozen=True)
class CampaignSeed:
    key: str
    advertiser: str
    name: str
    objective: Objective
    pricing: Pricing
    bid: Micros
    budget: Micros
    destination: DestinationKind
    destination_url: str
    music: frozenset[str]  # sim truth: the genres whose fans care
    creatives: tuple[CreativeSeed, ...]
    timezone: str = "UTC"
    daily_budget: Micros | None = None
    cap: FrequencyCap | None = None
    genres: frozenset[str] = frozenset()  # targeting
    countries: frozenset[str] = frozenset()
    retarget: str | None = None  # key of the campaign whose clickers are the audience
    starts_days_before_end: float | None = None  # None: the first simulated day
    days_left: float = 14.0  # flight end after the simulated period
    conversion_rate: float = 0.0  # sim truth: P(order | click), store and ticket pages
    view_conversion_rate: float = 0.0  # P(order | seen, not clicked), same day
    order_value: tuple[str, str] = ("0", "0")  # USD range of one order
    widen_after: float | None = None  # planted: genre targeting cleared at this share


@dataclass(frozen=True)
class DemoNetwork:
    publishers: tuple[PublisherSeed, ...]
    sites: tuple[SiteSeed, ...]
    advertisers: tuple[AdvertiserSeed, ...]
    campaigns: tuple[CampaignSeed, ...]

    def site(self, key: str) -> SiteSeed:
        return next(s for s in self.sites if s.key == key)

    def campaign(self, key: str) -> CampaignSeed:
        return next(c for c in self.campaigns if c.key == key)

    def advertiser(self, key: str) -> AdvertiserSeed:
        return next(a for a in self.advertisers if a.key == key)


def _p(
    name: str, size: Size, floor: str, devices: frozenset[DeviceType], view: float
) -> PlacementSeed:
    return PlacementSeed(name, size, usd(floor), devices, view)


_US_HEAVY = (("US", 0.62), ("GB", 0.1), ("CA", 0.08), ("AU", 0.05), ("DE", 0.04), ("NL", 0.03),
             ("FR", 0.03), ("BR", 0.05))
_MOBILE_FIRST = ((DeviceType.MOBILE, 0.68), (DeviceType.DESKTOP, 0.27), (DeviceType.TABLET, 0.05))
_BALANCED = ((DeviceType.MOBILE, 0.52), (DeviceType.DESKTOP, 0.41), (DeviceType.TABLET, 0.07))
_DESKTOP_FIRST = ((DeviceType.DESKTOP, 0.58), (DeviceType.MOBILE, 0.36), (DeviceType.TABLET, 0.06))

PUBLISHERS = (
    PublisherSeed("verse", "Verse & Chart Media", "ads@versechart.example"),
    PublisherSeed("static", "Quiet Static Collective", "hello@quietstatic.example", 75),
    PublisherSeed("pulse", "Pulse Circuit Media", "sales@pulsecircuit.example"),
    PublisherSeed("heartland", "Heartland Broadcasting", "ads@heartland.example", 65),
    PublisherSeed("anvil", "Iron Anvil Community", "admin@ironanvil.example", 80),
)

SITES = (
    SiteSeed(
        "bars", "verse", "Bars & Verses", "barsandverses.example", "US",
        frozenset({"hip-hop", "rnb"}), 300,
        (
            _p("Top leaderboard", LEADERBOARD, "3.00", DESKTOPS, 0.64),
            _p("In-lyrics MPU", MPU, "3.00", EVERY_DEVICE, 0.58),
            _p("Mobile sticky", MOBILE, "2.50", PHONES, 0.86),
        ),
        _US_HEAVY, _MOBILE_FIRST, "America/New_York", ("lyrics", "artists", "albums"),
    ),
    SiteSeed(
        "chart", "verse", "Chart Buzz", "chartbuzz.example", "US",
        frozenset({"pop", "k-pop"}), 420,
        (
            _p("Header leaderboard", LEADERBOARD, "3.00", DESKTOPS, 0.62),
            _p("Article MPU", MPU, "3.00", EVERY_DEVICE, 0.55),
            _p("Footer leaderboard", LEADERBOARD, "2.50", DESKTOPS, 0.17),
        ),
        (("US", 0.45), ("GB", 0.15), ("CA", 0.08), ("AU", 0.07), ("DE", 0.06), ("FR", 0.05),
         ("ES", 0.04), ("MX", 0.04), ("SE", 0.03), ("JP", 0.03)),
        _BALANCED, "America/New_York", ("news", "charts", "interviews"),
    ),
    SiteSeed(
        "static", "static", "The Quiet Static", "quietstatic.example", "GB",
        frozenset({"alternative", "singer-songwriter", "folk"}), 140,
        (
            _p("Sidebar MPU", MPU, "2.50", EVERY_DEVICE, 0.5),
            _p("In-post banner", MOBILE, "2.50", PHONES, 0.72),
        ),
        (("US", 0.36), ("GB", 0.22), ("IE", 0.06), ("CA", 0.08), ("AU", 0.06), ("DE", 0.06),
         ("NL", 0.05), ("SE", 0.05), ("NZ", 0.06)),
        _DESKTOP_FIRST, "Europe/London", ("reviews", "sessions", "features"),
    ),
    SiteSeed(
        "pulse", "pulse", "Pulse Circuit", "pulsecircuit.example", "GB",
        frozenset({"electronic"}), 420,
        (
            _p("Leaderboard", LEADERBOARD, "3.00", DESKTOPS, 0.61),
            _p("MPU", MPU, "3.00", EVERY_DEVICE, 0.57),
            _p("Mobile banner", MOBILE, "2.50", PHONES, 0.8),
        ),
        (("GB", 0.35), ("DE", 0.18), ("NL", 0.12), ("US", 0.15), ("FR", 0.06), ("ES", 0.05),
         ("SE", 0.04), ("IE", 0.03), ("AU", 0.02)),
        _BALANCED, "Europe/London", ("reviews", "mixes", "events"),
    ),
    SiteSeed(
        "gravel", "heartland", "Gravel Road Radio", "gravelroadradio.example", "US",
        frozenset({"country", "folk"}), 200,
        (
            _p("Player MPU", MPU, "2.50", EVERY_DEVICE, 0.74),
            _p("Leaderboard", LEADERBOARD, "2.50", DESKTOPS, 0.6),
        ),
        (("US", 0.8), ("CA", 0.1), ("AU", 0.03), ("GB", 0.02), ("IE", 0.03), ("NZ", 0.02)),
        _BALANCED, "America/Chicago", ("listen", "shows", "news"),
    ),
    SiteSeed(
        "anvil", "anvil", "Iron Anvil Forum", "ironanvil.example", "DE",
        frozenset({"metal", "rock", "punk"}), 160,
        (
            _p("Thread leaderboard", LEADERBOARD, "2.50", DESKTOPS, 0.55),
            _p("Sidebar MPU", MPU, "2.50", DESKTOPS, 0.46),
            _p("Mobile banner", MOBILE, "2.50", PHONES, 0.76),
        ),
        (("US", 0.3), ("DE", 0.15), ("SE", 0.12), ("GB", 0.12), ("FI", 0.06), ("BR", 0.08),
         ("NL", 0.06), ("CA", 0.06), ("AU", 0.05)),
        _DESKTOP_FIRST, "Europe/Berlin", ("threads", "reviews", "gigs"),
        bot_share=0.3,
    ),
    SiteSeed(
        "bluenote", "heartland", "Blue Note Hour", "bluenotehour.example", "US",
        frozenset({"jazz", "classical", "blues"}), 110,
        (
            _p("Player MPU", MPU, "2.50", EVERY_DEVICE, 0.71),
            _p("Leaderboard", LEADERBOARD, "2.50", DESKTOPS, 0.6),
        ),
        (("US", 0.45), ("GB", 0.12), ("FR", 0.12), ("DE", 0.1), ("JP", 0.08), ("CA", 0.07),
         ("NL", 0.06)),
        _DESKTOP_FIRST, "America/New_York", ("listen", "programmes", "archive"),
    ),
    SiteSeed(
        "ritmo", "pulse", "Ritmo Total", "ritmototal.example", "MX",
        frozenset({"latin"}), 170,
        (
            _p("Leaderboard", LEADERBOARD, "2.50", DESKTOPS, 0.6),
            _p("MPU", MPU, "2.50", EVERY_DEVICE, 0.56),
            _p("Mobile sticky", MOBILE, "2.50", PHONES, 0.85),
        ),
        (("MX", 0.38), ("US", 0.22), ("ES", 0.14), ("AR", 0.09), ("CO", 0.09), ("CL", 0.05),
         ("BR", 0.03)),
        _MOBILE_FIRST, "America/Mexico_City", ("letras", "noticias", "videos"),
    ),
)

ADVERTISERS = (
    AdvertiserSeed("novalux", "Nova Lux", "team@novalux.example", (34, 18, 74), (255, 92, 205)),
    AdvertiserSeed("sadie", "Sadie Ray", "mgmt@sadieray.example", (120, 62, 30), (247, 196, 98)),
    AdvertiserSeed("granite", "Granite Records", "promo@graniterecords.example", (40, 44, 52),
                   (236, 236, 236)),
    AdvertiserSeed("sunset", "Sunset Valley Festival", "marketing@sunsetvalley.example",
                   (232, 93, 4), (255, 214, 10)),
)


def _c(key: str, name: str, size: Size, headline: str, tagline: str, cta: str, appeal: float,
       alt: str) -> CreativeSeed:
    return CreativeSeed(key, name, size, headline, tagline, cta, appeal, alt)


CAMPAIGNS = (
    CampaignSeed(
        "night-drive", "novalux", "Night Drive: single launch", Objective.TRAFFIC, Pricing.CPM,
        usd("5.00"), usd("80"), DestinationKind.STREAMING,
        "https://listen.example/nova-lux/night-drive?utm_source=backbeat&utm_campaign={campaign}",
        frozenset({"electronic", "pop"}),
        (
            _c("nd-cover", "Cover art", LEADERBOARD, "NOVA LUX", "Night Drive: the new single",
               "Listen now", 0.026, "Nova Lux, Night Drive single cover"),
            _c("nd-portrait", "Neon portrait", MOBILE, "NOVA LUX", "Night Drive out now",
               "Play it loud", 0.024, "Nova Lux in neon light"),
            _c("nd-lyric", "Lyric card", MPU, "Nova Lux", "\u201cwe only talk in headlights\u201d",
               "Stream", 0.003, "A lyric from Night Drive by Nova Lux"),
        ),
        timezone="Europe/London", cap=FrequencyCap(4, 24), genres=frozenset({"electronic", "pop"}),
    ),
    CampaignSeed(
        "nd-vinyl", "novalux", "Night Drive vinyl: clicked, not bought", Objective.RETARGETING,
        Pricing.CPM, usd("8.00"), usd("0.60"), DestinationKind.STORE,
        "https://shop.novalux.example/night-drive-vinyl",
        frozenset({"electronic", "pop"}),
        (
            _c("ndv-mpu", "Vinyl pre-order", MPU, "NOVA LUX", "Night Drive on 12\" vinyl",
               "Pre-order", 0.04, "Night Drive 12-inch vinyl"),
            _c("ndv-mobile", "Vinyl banner", MOBILE, "NOVA LUX", "Night Drive vinyl",
               "Pre-order", 0.035, "Night Drive vinyl pre-order"),
        ),
        timezone="Europe/London", cap=FrequencyCap(3, 24), retarget="night-drive",
        conversion_rate=0.1, view_conversion_rate=0.0015, order_value=("28.00", "34.00"),
    ),
    CampaignSeed(
        "gravel-hearts", "sadie", "Gravel Hearts: album out now", Objective.TRAFFIC, Pricing.CPM,
        usd("4.50"), usd("24"), DestinationKind.STREAMING,
        "https://listen.example/sadie-ray/gravel-hearts",
        frozenset({"country", "folk"}),
        (
            _c("gh-cover", "Album cover", MPU, "SADIE RAY", "Gravel Hearts: the album",
               "Listen now", 0.018, "Sadie Ray, Gravel Hearts album cover"),
            _c("gh-board", "Porch leaderboard", LEADERBOARD, "SADIE RAY",
               "Gravel Hearts, out now", "Listen", 0.016, "Sadie Ray on a porch with a guitar"),
        ),
        timezone="America/Chicago", cap=FrequencyCap(5, 24),
        genres=frozenset({"country", "folk"}),
    ),
    CampaignSeed(
        "sadie-tour", "sadie", "Sadie Ray live in Ireland", Objective.TRAFFIC, Pricing.CPM,
        usd("5.00"), usd("600"), DestinationKind.TICKETS,
        "https://tickets.example/sadie-ray/ireland",
        frozenset({"country", "folk"}),
        (
            _c("st-mpu", "Dublin and Cork dates", MPU, "SADIE RAY", "Live: Dublin & Cork",
               "Get tickets", 0.022, "Sadie Ray live in Dublin and Cork"),
            _c("st-mobile", "Tour banner", MOBILE, "SADIE RAY", "Live in Ireland",
               "Tickets", 0.018, "Sadie Ray Ireland tour"),
        ),
        timezone="Europe/Dublin", genres=frozenset({"country", "folk"}),
        countries=frozenset({"IE"}), conversion_rate=0.06, view_conversion_rate=0.001,
        order_value=("45.00", "70.00"), starts_days_before_end=10, days_left=30,
    ),
    CampaignSeed(
        "undertow", "granite", "Iron Tide: Undertow album", Objective.TRAFFIC, Pricing.CPM,
        usd("4.00"), usd("12.50"), DestinationKind.STREAMING,
        "https://listen.example/iron-tide/undertow",
        frozenset({"metal", "rock", "punk"}),
        (
            _c("ut-board", "Wave leaderboard", LEADERBOARD, "IRON TIDE", "Undertow: out now",
               "Listen", 0.022, "Iron Tide, Undertow: a black wave"),
            _c("ut-mpu", "Album cover", MPU, "IRON TIDE", "Undertow", "Stream the album",
               0.025, "Iron Tide, Undertow album cover"),
            _c("ut-mobile", "Mobile banner", MOBILE, "IRON TIDE", "Undertow out now", "Listen",
               0.02, "Iron Tide Undertow"),
        ),
        timezone="America/New_York", cap=FrequencyCap(5, 24),
        genres=frozenset({"metal", "rock", "punk"}),
    ),
    CampaignSeed(
        "sampler", "granite", "Granite Records: label sampler", Objective.AWARENESS, Pricing.CPM,
        usd("3.00"), usd("37"), DestinationKind.SOCIAL,
        "https://social.example/graniterecords/sampler",
        frozenset(),  # a sampler of every genre: nobody's favourite
        (
            _c("gs-board", "Roster leaderboard", LEADERBOARD, "GRANITE RECORDS",
               "New music from our roster", "Follow", 0.0035, "Granite Records roster collage"),
            _c("gs-mpu", "Roster tile", MPU, "GRANITE RECORDS", "Ten artists, one playlist",
               "Follow", 0.0035, "Granite Records sampler playlist"),
            _c("gs-mobile", "Roster banner", MOBILE, "GRANITE RECORDS", "The label sampler",
               "Follow", 0.0035, "Granite Records sampler"),
        ),
        timezone="America/New_York", cap=FrequencyCap(2, 24),
    ),
    CampaignSeed(
        "paper-planes", "granite", "MC Juno: Paper Planes", Objective.TRAFFIC, Pricing.CPC,
        usd("0.60"), usd("24"), DestinationKind.STREAMING,
        "https://listen.example/mc-juno/paper-planes",
        frozenset({"hip-hop", "rnb"}),
        (
            _c("pp-mpu", "Cover", MPU, "MC JUNO", "Paper Planes", "Listen now", 0.02,
               "MC Juno, Paper Planes cover"),
            _c("pp-board", "Leaderboard", LEADERBOARD, "MC JUNO", "Paper Planes: out now",
               "Listen", 0.016, "MC Juno Paper Planes"),
            _c("pp-mobile", "Mobile banner", MOBILE, "MC JUNO", "Paper Planes", "Play",
               0.017, "MC Juno Paper Planes banner"),
        ),
        timezone="America/New_York", cap=FrequencyCap(4, 24),
        genres=frozenset({"hip-hop", "rnb"}),
    ),
    CampaignSeed(
        "fuego", "granite", "Luna Vega: Fuego Lento", Objective.TRAFFIC, Pricing.CPM,
        usd("4.00"), usd("12"), DestinationKind.STREAMING,
        "https://listen.example/luna-vega/fuego-lento",
        frozenset({"latin"}),
        (
            _c("fl-mpu", "Portada", MPU, "LUNA VEGA", "Fuego Lento", "Escuchar", 0.02,
               "Luna Vega, Fuego Lento cover"),
            _c("fl-mobile", "Banner", MOBILE, "LUNA VEGA", "Fuego Lento ya disponible",
               "Escuchar", 0.017, "Luna Vega Fuego Lento"),
        ),
        timezone="America/Mexico_City", cap=FrequencyCap(4, 24), genres=frozenset({"latin"}),
        starts_days_before_end=9,
    ),
    CampaignSeed(
        "early-bird", "sunset", "Sunset Valley 2026: early bird", Objective.TRAFFIC, Pricing.CPM,
        usd("5.50"), usd("140"), DestinationKind.TICKETS,
        "https://tickets.example/sunset-valley-2026",
        frozenset({"electronic"}),
        (
            _c("eb-mpu", "Line-up poster", MPU, "SUNSET VALLEY", "2026 line-up: early bird",
               "Get tickets", 0.026, "Sunset Valley 2026 line-up poster"),
            _c("eb-board", "Sunset leaderboard", LEADERBOARD, "SUNSET VALLEY 2026",
               "Early bird tickets on sale", "Tickets", 0.023, "Sunset over the festival stage"),
            _c("eb-mobile", "Mobile banner", MOBILE, "SUNSET VALLEY", "Early bird on sale",
               "Tickets", 0.022, "Sunset Valley early bird"),
        ),
        timezone="America/Los_Angeles", cap=FrequencyCap(4, 24),
        genres=frozenset({"electronic"}), widen_after=0.6,
        conversion_rate=0.1, view_conversion_rate=0.0008, order_value=("129.00", "189.00"),
    ),
    CampaignSeed(
        "merch", "sunset", "Sunset Valley merch: festival fans", Objective.RETARGETING,
        Pricing.CPM, usd("8.00"), usd("0.60"), DestinationKind.STORE,
        "https://shop.sunsetvalley.example/merch",
        frozenset({"electronic"}),
        (
            _c("mr-mpu", "Tee and tote", MPU, "SUNSET VALLEY", "Official 2026 merch",
               "Shop now", 0.035, "Sunset Valley 2026 tee and tote bag"),
        ),
        timezone="America/Los_Angeles", cap=FrequencyCap(3, 24), retarget="early-bird",
        conversion_rate=0.1, view_conversion_rate=0.001, order_value=("25.00", "45.00"),
    ),
)

NETWORK = DemoNetwork(PUBLISHERS, SITES, ADVERTISERS, CAMPAIGNS)
