"""Seeding the demo network into a real (SQLite) catalog."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from backbeat.config import Settings, load_settings
from backbeat.domain.accounts import Role
from backbeat.domain.campaign import CampaignStatus, Objective
from backbeat.domain.creative import ReviewStatus
from backbeat.errors import ValidationFailed
from backbeat.sim.network import NETWORK
from backbeat.sim.seeds import DEMO_PASSWORD, Seeded, scaled, seed_catalog, widen_targeting
from backbeat.store.catalog import SqlCatalog, open_catalog, upgrade
from backbeat.web.auth import verify_password

END = datetime(2026, 3, 12, 18, tzinfo=UTC)
START = END - timedelta(days=14)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each catalog starts as a copy."""
    path = tmp_path_factory.mktemp("template") / "catalog.db"
    upgrade(f"sqlite:///{path}")
    return path


def _open(root: Path, template: Path) -> tuple[Settings, SqlCatalog]:
    settings = load_settings(data_dir=root, secret_key="s" * 48)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, root / "catalog.db")
    return settings, open_catalog(settings.resolved_catalog_url)


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, template: Path
) -> Iterator[tuple[Settings, SqlCatalog, Seeded]]:
    """One seeded catalog shared by the tests that only read it."""
    settings, cat = _open(tmp_path_factory.mktemp("demo"), template)
    yield settings, cat, seed_catalog(cat, settings, start=START, end=END)
    cat.close()


@pytest.fixture
def settings(demo: tuple[Settings, SqlCatalog, Seeded]) -> Settings:
    return demo[0]


@pytest.fixture
def catalog(demo: tuple[Settings, SqlCatalog, Seeded]) -> SqlCatalog:
    return demo[1]


@pytest.fixture
def seeded(demo: tuple[Settings, SqlCatalog, Seeded]) -> Seeded:
    return demo[2]


@pytest.fixture
def fresh(tmp_path: Path, template: Path) -> Iterator[tuple[Settings, SqlCatalog]]:
    """An empty migrated catalog for tests that write."""
    settings, cat = _open(tmp_path, template)
    yield settings, cat
    cat.close()


def test_everything_is_stored_and_live(catalog: SqlCatalog, seeded: Seeded) -> None:
    assert len(catalog.sites.all()) == len(NETWORK.sites) == 8
    assert len(catalog.publishers.all()) == len(NETWORK.publishers)
    assert len(catalog.advertisers.all()) == 4
    assert len(catalog.placements.all()) == sum(len(s.placements) for s in NETWORK.sites)
    campaigns = catalog.campaigns.all()
    assert len(campaigns) == 10
    assert {c.objective for c in campaigns} == set(Objective)
    assert all(c.status is CampaignStatus.ACTIVE and c.is_live(END) for c in campaigns)
    assert all(c.end > END + timedelta(days=7) for c in campaigns)  # they keep running live
    creatives = catalog.creatives.all()
    assert all(cr.review_status is ReviewStatus.APPROVED for cr in creatives)
    assert len(creatives) == sum(len(c.creatives) for c in NETWORK.campaigns)
    snapshot = catalog.serving_snapshot()
    assert len(snapshot.campaigns) == 10 and len(snapshot.creatives) == len(creatives)


def test_retargeting_targets_the_clickers_of_the_earlier_campaign(
    catalog: SqlCatalog, seeded: Seeded
) -> None:
    vinyl = seeded.campaigns["nd-vinyl"]
    audience = catalog.audiences.get(vinyl.audience_id or 0)
    assert audience.rule.engagement.value == "clicked"
    assert audience.rule.campaign_id == seeded.campaigns["night-drive"].id
    assert vinyl.campaign.targeting.audiences == frozenset({audience.id})


def test_creative_images_are_real_pngs_of_their_size(
    catalog: SqlCatalog, seeded: Seeded, settings: Settings
) -> None:
    for cr in catalog.creatives.all():
        assert cr.asset_url.startswith(f"{settings.base_url}/uploads/")
        path = settings.uploads_dir / cr.asset_url.rsplit("/", 1)[1]
        with Image.open(path) as img:
            assert img.format == "PNG"
            assert img.size == (cr.size.width, cr.size.height)
        assert seeded.by_asset[cr.asset_url].creative.id == cr.id


def test_demo_logins_use_the_documented_password(catalog: SqlCatalog, seeded: Seeded) -> None:
    roles = [login.role for login in seeded.logins]
    assert roles.count(Role.ADMIN) == 1
    assert roles.count(Role.ADVERTISER) == len(NETWORK.advertisers)
    assert roles.count(Role.PUBLISHER) == len(NETWORK.publishers)
    hashes = set()
    for login in seeded.logins:
        user = catalog.users.by_email(login.email)
        assert user is not None and user.role is login.role and login.password == DEMO_PASSWORD
        hashes.add(user.password_hash)
    (digest,) = hashes  # one argon2 hash of the one password, checked once
    assert verify_password(digest, DEMO_PASSWORD)
    assert not verify_password(digest, DEMO_PASSWORD + "x")
    first = seeded.logins[1]
    user = catalog.users.by_email(first.email)
    assert user is not None and user.advertiser_id == seeded.advertisers["novalux"]


def test_budgets_scale_with_traffic(fresh: tuple[Settings, SqlCatalog]) -> None:
    settings, catalog = fresh
    seeded = seed_catalog(catalog, settings, start=START, end=END, users=False, budget_scale=0.5)
    nd = seeded.campaigns["night-drive"]
    assert nd.campaign.budget_total_micros == NETWORK.campaign("night-drive").budget // 2
    assert scaled(1_000_000, 0.1) == 500_000  # never under 50 cents
    assert scaled(12_345_678, 1.0) == 12_350_000  # whole cents


def test_widening_clears_only_the_genres(fresh: tuple[Settings, SqlCatalog]) -> None:
    settings, catalog = fresh
    seeded = seed_catalog(catalog, settings, start=START, end=END, users=False)
    eb = seeded.campaigns["early-bird"]
    before = catalog.campaigns.get(eb.id)
    assert before.targeting.genres == frozenset({"electronic"})
    widen_targeting(catalog, eb)
    after = catalog.campaigns.get(eb.id)
    assert after.targeting.genres == frozenset()
    assert after.targeting.countries == before.targeting.countries
    assert after.status is CampaignStatus.ACTIVE


def test_bad_period_is_refused(fresh: tuple[Settings, SqlCatalog]) -> None:
    settings, catalog = fresh
    with pytest.raises(ValidationFailed) as err:
        seed_catalog(catalog, settings, start=END, end=START)
    assert err.value.fields[0].field == "start"
    assert catalog.campaigns.page(limit=1).total == 0
