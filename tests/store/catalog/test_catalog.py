"""SqlCatalog: units of work, the version counter and the serving snapshot, on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError

from backbeat.domain.accounts import Role
from backbeat.domain.campaign import CampaignStatus
from backbeat.domain.creative import ReviewStatus
from backbeat.errors import Conflict
from backbeat.store.catalog import SqlCatalog, open_catalog
from backbeat.store.catalog.protocol import Catalog
from tests.store.catalog import builders as b
from tests.store.catalog.builders import build_world


class Boom(Exception):
    pass


def test_satisfies_the_catalog_protocol(catalog: SqlCatalog) -> None:
    as_protocol: Catalog = catalog
    assert as_protocol.version() == 0


def test_transaction_commits_together(catalog: SqlCatalog) -> None:
    with catalog.transaction():
        adv = catalog.advertisers.add(b.advertiser())
        camp = catalog.campaigns.add(b.campaign(b.ident(adv)))
    assert catalog.campaigns.get(b.ident(camp)).advertiser_id == adv.id


def test_exception_rolls_back_everything(catalog: SqlCatalog) -> None:
    with pytest.raises(Boom), catalog.transaction():
        adv = catalog.advertisers.add(b.advertiser())
        catalog.campaigns.add(b.campaign(b.ident(adv)))
        pub = catalog.publishers.add(b.publisher())
        catalog.sites.add(b.site(b.ident(pub)))
        raise Boom
    assert catalog.advertisers.page().total == 0
    assert catalog.campaigns.page().total == 0
    assert catalog.publishers.all() == [] and catalog.sites.all() == []
    assert catalog.version() == 0


def test_domain_error_rolls_back_earlier_writes(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    before = catalog.version()
    with pytest.raises(Conflict), catalog.transaction():
        catalog.advertisers.add(b.advertiser("made inside"))
        catalog.sites.add(b.site(w.pub_id, domain=w.site.domain))  # conflict escapes
    assert catalog.advertisers.all({"name": "made inside"}) == []
    assert catalog.version() == before


def test_nested_transactions_join_the_outer(catalog: SqlCatalog) -> None:
    with pytest.raises(Boom), catalog.transaction():
        with catalog.transaction():
            catalog.advertisers.add(b.advertiser("inner"))
        # The inner block ended, but nothing is committed until the outer one is.
        assert catalog.advertisers.page(where={"name": "inner"}).total == 1
        raise Boom
    assert catalog.advertisers.page().total == 0


def test_reads_inside_see_own_writes_others_do_not(
    catalog: SqlCatalog, open_many: Callable[[], SqlCatalog]
) -> None:
    other = open_many()
    seen_by_other: list[object] = []
    with catalog.transaction():
        adv = catalog.advertisers.add(b.advertiser())
        assert catalog.advertisers.get(b.ident(adv)) == adv
        # Another thread has its own unit of work: the write is not committed yet.
        t = threading.Thread(target=lambda: seen_by_other.append(catalog.advertisers.find(b.ident(adv))))
        t.start()
        t.join()
        seen_by_other.append(other.advertisers.page().total)
    assert seen_by_other == [None, 0]
    assert other.advertisers.get(b.ident(adv)) == adv


def test_version_bumps_on_every_write(catalog: SqlCatalog) -> None:
    assert catalog.version() == 0
    adv = catalog.advertisers.add(b.advertiser())
    assert catalog.version() == 1
    catalog.advertisers.update(replace(adv, name="renamed"))
    assert catalog.version() == 2
    pub = catalog.publishers.add(b.publisher())
    st = catalog.sites.add(b.site(b.ident(pub)))
    assert catalog.version() == 4
    catalog.sites.delete(b.ident(st))
    assert catalog.version() == 5
    with catalog.transaction():
        catalog.advertisers.add(b.advertiser("x"))
        catalog.advertisers.add(b.advertiser("y"))
    assert catalog.version() == 7


def test_version_does_not_move_on_reads(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    owner = catalog.users.add(b.user(role=Role.ADMIN))
    tok = catalog.tokens.add(b.token(b.ident(owner)))
    before = catalog.version()
    catalog.campaigns.get(w.campaign_id)
    catalog.campaigns.find(999)
    catalog.campaigns.page(where={"q": "spring"}, order="-name")
    catalog.sites.all()
    catalog.users.by_email(owner.email)
    catalog.tokens.by_hash(tok.token_hash)
    catalog.serving_snapshot()
    with catalog.transaction():
        catalog.advertisers.page()
    assert catalog.version() == before


def test_touching_a_token_does_not_bump_the_version(catalog: SqlCatalog) -> None:
    """Tokens are touched on every API call and the ad server never reads them."""
    owner = catalog.users.add(b.user(role=Role.ADMIN))
    tok = catalog.tokens.add(b.token(b.ident(owner)))
    before = catalog.version()
    catalog.tokens.touch(b.ident(tok), datetime(2026, 5, 1, tzinfo=UTC))
    assert catalog.version() == before


def test_version_seen_by_another_catalog(
    catalog: SqlCatalog, open_many: Callable[[], SqlCatalog]
) -> None:
    watcher = open_many()
    assert watcher.version() == 0
    catalog.advertisers.add(b.advertiser())
    assert watcher.version() == 1


def test_concurrent_writers_all_count(catalog: SqlCatalog) -> None:
    """Writers in several threads queue (SQLite lock, PostgreSQL row lock) and none is lost."""
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(5):
                with catalog.transaction():
                    catalog.advertisers.add(b.advertiser(f"t{i}-{j}"))
        except BaseException as exc:  # collected so the main thread can fail loudly
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert catalog.advertisers.page().total == 20
    assert catalog.version() == 20


def test_serving_snapshot_content(catalog: SqlCatalog) -> None:
    w = build_world(catalog)  # its campaign is paused
    adv = w.adv_id
    live = catalog.campaigns.add(b.campaign(adv, "live", status=CampaignStatus.ACTIVE))
    catalog.campaigns.add(b.campaign(adv, "draft", status=CampaignStatus.DRAFT))

    def creative(camp: int, status: ReviewStatus) -> int:
        return b.ident(catalog.creatives.add(b.creative(adv, camp, review_status=status)))

    approved = creative(b.ident(live), ReviewStatus.APPROVED)
    creative(b.ident(live), ReviewStatus.PENDING)
    creative(b.ident(live), ReviewStatus.REJECTED)
    creative(w.campaign_id, ReviewStatus.APPROVED)  # approved, but its campaign is paused
    on = catalog.placements.add(b.placement(w.site_id, "on", active=True))
    catalog.placements.add(b.placement(w.site_id, "off", active=False))
    second_site = catalog.sites.add(b.site(w.pub_id, domain="second.example"))
    aud = catalog.audiences.add(b.audience(adv, b.ident(live)))

    snap = catalog.serving_snapshot()

    assert snap.version == catalog.version()
    assert snap.campaigns == [live]
    assert [c.id for c in snap.creatives] == [approved]
    assert snap.sites == [w.site, second_site]
    assert snap.placements == [on]
    assert snap.audiences == [aud]


def test_empty_snapshot(catalog: SqlCatalog) -> None:
    snap = catalog.serving_snapshot()
    assert (snap.version, snap.campaigns, snap.creatives) == (0, [], [])
    assert (snap.sites, snap.placements, snap.audiences) == ([], [], [])


def test_snapshot_inside_transaction_sees_pending_writes(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    with catalog.transaction():
        catalog.campaigns.update(replace(w.campaign, status=CampaignStatus.ACTIVE))
        snap = catalog.serving_snapshot()
    assert [c.id for c in snap.campaigns] == [w.campaign_id]


def test_open_catalog_creates_no_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/never-migrated.db"
    cat = open_catalog(url)
    try:
        with pytest.raises(OperationalError, match="no such table"):
            cat.version()
        assert inspect(cat.engine).get_table_names() == []
    finally:
        cat.close()
