"""Fixtures shared by the serving tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from backbeat.domain.parties import Advertiser, Publisher
from backbeat.store.catalog import SqlCatalog, open_catalog, upgrade
from tests.serving.factories import campaign, creative, placement, site


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[SqlCatalog]:
    """A real SQLite catalog holding one site, one 300x250 placement and campaign 1 with
    its creative 10 (the ids the factories' defaults use)."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade(url)
    cat = open_catalog(url)
    adv = cat.advertisers.add(Advertiser("Nightjar Records")).id or 0
    pub = cat.publishers.add(Publisher("Lyric Vault")).id or 0
    st = cat.sites.add(replace(site(), id=None, publisher_id=pub)).id or 0
    cat.placements.add(replace(placement(), id=None, site_id=st))
    camp = cat.campaigns.add(replace(campaign(1), id=None, advertiser_id=adv)).id or 0
    cat.creatives.add(replace(creative(10, 1), id=None, campaign_id=camp, advertiser_id=adv))
    yield cat
    cat.close()
