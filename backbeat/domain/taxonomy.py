"""Controlled vocabularies: music genres, ad formats and sizes, devices, countries.

Genres follow the IAB Content Taxonomy 3.1 Music subtree (node 338 "Music"); the slug is
what the API and the ad tag use, the IAB id is kept so exports can be mapped back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import pycountry

from backbeat.errors import ValidationFailed


@dataclass(frozen=True)
class Genre:
    slug: str
    label: str
    iab_id: int


# IAB Content Taxonomy 3.1, Music (338). `iab_id` is the 3.1 node; genres that 3.1 folds into
# a broader node carry that node's id (metal -> Rock 363), and ones with no own node carry 338.
MUSIC_ROOT_IAB_ID = 338
GENRES: tuple[Genre, ...] = (
    Genre("pop", "Pop / Top 40", 349),
    Genre("rock", "Rock", 363),
    Genre("hip-hop", "Hip Hop", 355),
    Genre("electronic", "Dance and Electronic", 351),
    Genre("rnb", "R&B / Soul / Funk", 362),
    Genre("country", "Country", 350),
    Genre("jazz", "Jazz", 357),
    Genre("classical", "Classical", 346),
    Genre("alternative", "Alternative / Indie", 343),
    Genre("metal", "Metal", 363),
    Genre("punk", "Punk", 363),
    Genre("latin", "Latin", MUSIC_ROOT_IAB_ID),
    Genre("folk", "Folk / Americana", 350),
    Genre("blues", "Blues", MUSIC_ROOT_IAB_ID),
    Genre("reggae", "Reggae", MUSIC_ROOT_IAB_ID),
    Genre("world", "World / International", MUSIC_ROOT_IAB_ID),
    Genre("gospel", "Gospel / Christian", MUSIC_ROOT_IAB_ID),
    Genre("soundtracks", "Soundtracks and Showtunes", MUSIC_ROOT_IAB_ID),
    Genre("k-pop", "K-Pop", 349),
    Genre("singer-songwriter", "Singer-Songwriter", MUSIC_ROOT_IAB_ID),
)
GENRE_BY_SLUG: dict[str, Genre] = {g.slug: g for g in GENRES}


class AdFormat(StrEnum):
    DISPLAY = "display"
    VIDEO = "video"
    NATIVE = "native"


class DeviceType(StrEnum):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    OTHER = "other"


@dataclass(frozen=True, order=True)
class Size:
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def is_large(self) -> bool:
        """MRC: ads of 242,500 px or more may use a 30% viewability threshold."""
        return self.pixels >= 242_500

    @classmethod
    def parse(cls, text: str, field: str = "size") -> Size:
        try:
            w, h = str(text).lower().split("x")
            size = cls(int(w), int(h))
        except ValueError:
            raise ValidationFailed.one(field, f"{text!r} is not WIDTHxHEIGHT") from None
        return size


# IAB New Ad Portfolio (2017) fixed sizes, plus the 300x600 half page still widely sold.
DISPLAY_SIZES: frozenset[Size] = frozenset(
    Size(w, h)
    for w, h in [
        (300, 250),
        (728, 90),
        (160, 600),
        (300, 600),
        (320, 50),
        (300, 50),
        (970, 250),
        (970, 90),
        (300, 1050),
        (320, 100),
    ]
)
# Video players are sold by 16:9 player size; native by the 1.91:1 card image (also 1:1).
VIDEO_SIZES: frozenset[Size] = frozenset({Size(640, 360), Size(1280, 720), Size(300, 250)})
NATIVE_SIZES: frozenset[Size] = frozenset({Size(1200, 627), Size(627, 627), Size(300, 250)})
SIZES_BY_FORMAT: dict[AdFormat, frozenset[Size]] = {
    AdFormat.DISPLAY: DISPLAY_SIZES,
    AdFormat.VIDEO: VIDEO_SIZES,
    AdFormat.NATIVE: NATIVE_SIZES,
}


def check_size(fmt: AdFormat, size: Size, field: str = "size") -> Size:
    allowed = SIZES_BY_FORMAT[fmt]
    if size not in allowed:
        names = ", ".join(str(s) for s in sorted(allowed))
        raise ValidationFailed.one(field, f"{size} is not a supported {fmt} size ({names})")
    return size


def check_genres(genres: object, field: str = "genres") -> frozenset[str]:
    if isinstance(genres, str) or not hasattr(genres, "__iter__"):
        raise ValidationFailed.one(field, "must be a list of genre slugs")
    out = set()
    for g in genres:
        slug = str(g).strip().lower()
        if slug not in GENRE_BY_SLUG:
            raise ValidationFailed.one(field, f"unknown genre {g!r}; see GET /api/v1/genres")
        out.add(slug)
    return frozenset(out)


@cache
def _country_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def check_country(code: object, field: str = "country") -> str:
    text = str(code).strip().upper()
    if text not in _country_codes():
        raise ValidationFailed.one(field, f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return text


def check_countries(codes: object, field: str = "countries") -> frozenset[str]:
    if isinstance(codes, str) or not hasattr(codes, "__iter__"):
        raise ValidationFailed.one(field, "must be a list of ISO 3166-1 alpha-2 codes")
    return frozenset(check_country(c, field) for c in codes)
