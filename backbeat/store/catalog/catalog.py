"""`SqlCatalog`: the catalog over SQLAlchemy, and `open_catalog`, its factory.

The schema is made by :func:`backbeat.store.catalog.migrate.upgrade`, never here: opening a
catalog does no DDL, so a server cannot silently create a second, empty catalog.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Engine, Select, select

from backbeat.domain.audience import Audience
from backbeat.domain.campaign import Campaign, CampaignStatus
from backbeat.domain.creative import Creative, ReviewStatus
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.store.catalog import convert as cv
from backbeat.store.catalog.engine import make_engine
from backbeat.store.catalog.filters import equals
from backbeat.store.catalog.protocol import (
    Repository,
    ServingSnapshot,
    TokenRepository,
    UserRepository,
)
from backbeat.store.catalog.repositories import (
    Spec,
    SqlRepository,
    SqlTokenRepository,
    SqlUserRepository,
)
from backbeat.store.catalog.tables import (
    advertisers,
    audiences,
    campaigns,
    creatives,
    placements,
    publishers,
    sites,
)
from backbeat.store.catalog.txn import Transactions

if TYPE_CHECKING:
    from backbeat.store.catalog.protocol import Catalog


def _placements_of_publisher(value: object) -> ColumnElement[bool]:
    """Virtual filter: placements on the sites of a publisher (or any of several)."""
    return placements.c.site_id.in_(select(sites.c.id).where(equals(sites.c.publisher_id, value)))


class SqlCatalog:
    """The catalog on one database. Implements ``protocol.Catalog``; thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._tx = Transactions(engine)
        tx = self._tx
        self.advertisers: Repository[Advertiser] = SqlRepository(
            tx, Spec(advertisers, cv.advertiser_row, cv.advertiser_from)
        )
        self.publishers: Repository[Publisher] = SqlRepository(
            tx, Spec(publishers, cv.publisher_row, cv.publisher_from)
        )
        self.campaigns: Repository[Campaign] = SqlRepository(
            tx, Spec(campaigns, cv.campaign_row, cv.campaign_from)
        )
        self.creatives: Repository[Creative] = SqlRepository(
            tx, Spec(creatives, cv.creative_row, cv.creative_from)
        )
        self.sites: Repository[Site] = SqlRepository(tx, Spec(sites, cv.site_row, cv.site_from))
        self.placements: Repository[Placement] = SqlRepository(
            tx,
            Spec(
                placements,
                cv.placement_row,
                cv.placement_from,
                virtual={"publisher_id": _placements_of_publisher},
            ),
        )
        self.audiences: Repository[Audience] = SqlRepository(
            tx, Spec(audiences, cv.audience_row, cv.audience_from)
        )
        self.users: UserRepository = SqlUserRepository(tx)
        self.tokens: TokenRepository = SqlTokenRepository(tx)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of work: repository calls inside join it, nested calls join the
        outer one, and an exception rolls everything back."""
        with self._tx.unit(write=True):
            yield

    def version(self) -> int:
        with self._tx.unit(write=False) as conn:
            return self._tx.read_version(conn)

    def serving_snapshot(self) -> ServingSnapshot:
        """Active campaigns, their approved creatives, all sites, active placements, all
        audiences and the version they belong to, from one consistent read."""
        active = campaigns.c.status == CampaignStatus.ACTIVE.value
        live_ids = select(campaigns.c.id).where(active)
        approved = creatives.c.review_status == ReviewStatus.APPROVED.value
        with self._tx.unit(write=False, snapshot=True) as conn:
            version = self._tx.read_version(conn)

            def rows(stmt: Select[Any]) -> list[cv.Row]:
                return list(conn.execute(stmt).mappings().all())

            camp = rows(select(campaigns).where(active).order_by(campaigns.c.id))
            crea = rows(
                select(creatives)
                .where(approved, creatives.c.campaign_id.in_(live_ids))
                .order_by(creatives.c.id)
            )
            site = rows(select(sites).order_by(sites.c.id))
            plac = rows(select(placements).where(placements.c.active).order_by(placements.c.id))
            aud = rows(select(audiences).order_by(audiences.c.id))
        return ServingSnapshot(
            version=version,
            campaigns=[cv.campaign_from(r) for r in camp],
            creatives=[cv.creative_from(r) for r in crea],
            sites=[cv.site_from(r) for r in site],
            placements=[cv.placement_from(r) for r in plac],
            audiences=[cv.audience_from(r) for r in aud],
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_catalog(url: str) -> SqlCatalog:
    """Open the catalog at a SQLAlchemy `url` (``sqlite:///path.db`` or
    ``postgresql+psycopg://user@host/db``; plain ``postgresql://`` uses psycopg too).
    The schema must exist already: see :func:`backbeat.store.catalog.migrate.upgrade`."""
    return SqlCatalog(make_engine(url))


if TYPE_CHECKING:

    def _implements_protocol(c: SqlCatalog) -> Catalog:
        return c
