"""Fixtures for HTTP tests: a real app on a fresh SQLite catalog, and a small network of
tenants (two advertisers, two publishers, an admin), each with its own API token."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backbeat.config import Settings, VisitorMode, load_settings
from backbeat.domain.accounts import Role, User
from backbeat.domain.parties import Advertiser, Publisher
from backbeat.store.catalog import SqlCatalog, open_catalog, upgrade
from backbeat.web.app import create_app
from backbeat.web.auth import hash_password, issue_token
from tests.web.network import Network, build_network


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, secret_key="s" * 48)


@pytest.fixture(scope="session")
def catalog_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once per session; each test gets a copy of the migrated file."""
    path = tmp_path_factory.mktemp("template") / "catalog.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def catalog(settings: Settings, catalog_template: Path) -> Iterator[SqlCatalog]:
    shutil.copyfile(catalog_template, settings.data_dir / "catalog.db")
    cat = open_catalog(settings.resolved_catalog_url)
    yield cat
    cat.close()


@pytest.fixture
def client(settings: Settings, catalog: SqlCatalog) -> Iterator[TestClient]:
    app = create_app(settings, catalog=catalog)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def cookie_mode(settings: Settings, catalog: SqlCatalog) -> Iterator[tuple[TestClient, Network]]:
    """The app in first-party cookie mode, on the small network of ``tests.web.network``."""
    net = build_network(catalog)
    app = create_app(settings.model_copy(update={"visitor_mode": VisitorMode.COOKIE}),
                     catalog=catalog)
    with TestClient(app) as c:
        yield c, net


@dataclass
class Tenant:
    token: str
    user_id: int
    advertiser_id: int | None = None
    publisher_id: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    admin: Tenant
    adv_a: Tenant
    adv_b: Tenant
    pub_p: Tenant
    pub_q: Tenant


PASSWORD = "correct horse battery"


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per session


def _member(catalog: SqlCatalog, email: str, role: Role, **tenant: Any) -> Tenant:
    user = catalog.users.add(User(email, role, _password_hash(), **tenant).validate())
    assert user.id is not None
    _, token = issue_token(catalog, user.id, "test")
    return Tenant(token, user.id, headers={"Authorization": f"Bearer {token}"}, **tenant)


@pytest.fixture
def world(catalog: SqlCatalog) -> World:
    a = catalog.advertisers.add(Advertiser("Nova Lux (artist)"))
    b = catalog.advertisers.add(Advertiser("Granite Records"))
    p = catalog.publishers.add(Publisher("Lyrics Hub"))
    q = catalog.publishers.add(Publisher("Indie Radio"))
    return World(
        admin=_member(catalog, "admin@example.com", Role.ADMIN),
        adv_a=_member(catalog, "a@example.com", Role.ADVERTISER, advertiser_id=a.id),
        adv_b=_member(catalog, "b@example.com", Role.ADVERTISER, advertiser_id=b.id),
        pub_p=_member(catalog, "p@example.com", Role.PUBLISHER, publisher_id=p.id),
        pub_q=_member(catalog, "q@example.com", Role.PUBLISHER, publisher_id=q.id),
    )
