"""Unique and foreign-key violations become Conflict naming the field, on both backends."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backbeat.domain.accounts import Role
from backbeat.errors import Conflict, FieldError
from backbeat.store.catalog import SqlCatalog
from tests.store.catalog import builders as b
from tests.store.catalog.builders import build_world


def _only_field(exc: Conflict) -> FieldError:
    assert exc.status == 409 and exc.code == "conflict"
    assert len(exc.fields) == 1
    return exc.fields[0]


def test_duplicate_domain(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    before = catalog.version()
    with pytest.raises(Conflict) as info:
        catalog.sites.add(b.site(w.pub_id, domain=w.site.domain, name="Copycat"))
    assert _only_field(info.value) == FieldError("domain", "is already registered")
    assert catalog.sites.page().total == 1
    assert catalog.version() == before  # a failed write changes nothing


def test_duplicate_domain_on_update(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    second = catalog.sites.add(b.site(w.pub_id, domain="second.example"))
    with pytest.raises(Conflict) as info:
        catalog.sites.update(replace(second, domain=w.site.domain))
    assert _only_field(info.value).field == "domain"
    assert catalog.sites.get(b.ident(second)).domain == "second.example"


def test_email_taken_regardless_of_case(catalog: SqlCatalog) -> None:
    catalog.users.add(b.user("ann@nightjar.example", role=Role.ADMIN))
    with pytest.raises(Conflict) as info:
        catalog.users.add(b.user("ANN@Nightjar.Example", role=Role.ADMIN))
    assert _only_field(info.value) == FieldError("email", "is already taken")


def test_duplicate_token_hash(catalog: SqlCatalog) -> None:
    owner = catalog.users.add(b.user(role=Role.ADMIN))
    catalog.tokens.add(b.token(b.ident(owner), token_hash="ab" * 32))
    with pytest.raises(Conflict) as info:
        catalog.tokens.add(b.token(b.ident(owner), token_hash="ab" * 32, name="again"))
    assert _only_field(info.value).field == "token_hash"


@pytest.mark.parametrize(
    ("attr", "field", "reason"),
    [
        ("campaigns", "advertiser_id", "no advertiser 404"),
        ("sites", "publisher_id", "no publisher 404"),
        ("placements", "site_id", "no site 404"),
        ("audiences", "advertiser_id", "no advertiser 404"),
    ],
)
def test_missing_parent_on_add(catalog: SqlCatalog, attr: str, field: str, reason: str) -> None:
    w = build_world(catalog)
    objects = {
        "campaigns": b.campaign(404),
        "sites": b.site(404, domain="orphan.example"),
        "placements": b.placement(404),
        "audiences": b.audience(404, w.campaign_id),
    }
    with pytest.raises(Conflict) as info:
        getattr(catalog, attr).add(objects[attr])
    assert _only_field(info.value) == FieldError(field, reason)


def test_missing_parent_on_update(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    with pytest.raises(Conflict) as info:
        catalog.sites.update(replace(w.site, publisher_id=404))
    assert _only_field(info.value) == FieldError("publisher_id", "no publisher 404")
    assert catalog.sites.get(w.site_id) == w.site


def test_user_with_missing_tenant(catalog: SqlCatalog) -> None:
    with pytest.raises(Conflict) as info:
        catalog.users.add(b.user(role=Role.PUBLISHER, publisher_id=404))
    assert _only_field(info.value) == FieldError("publisher_id", "no publisher 404")


def test_creative_campaign_must_exist_and_share_the_advertiser(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    with pytest.raises(Conflict) as info:
        catalog.creatives.add(b.creative(w.adv_id, 404))
    assert _only_field(info.value).field == "campaign_id"
    other = catalog.advertisers.add(b.advertiser("other"))
    # The denormalised tenant must agree with the campaign's.
    with pytest.raises(Conflict) as info:
        catalog.creatives.add(b.creative(b.ident(other), w.campaign_id))
    field = _only_field(info.value)
    assert field.field == "campaign_id"
    assert f"campaign {w.campaign_id} does not match advertiser_id={other.id}" == field.reason


def _with_child(cat: SqlCatalog, parent: str, child: str) -> int:
    """Store a `parent` row with one `child` row pointing at it; return the parent's id."""
    adv = cat.advertisers.add(b.advertiser())
    pub = cat.publishers.add(b.publisher())
    if parent == "advertisers":
        if child == "campaigns":
            cat.campaigns.add(b.campaign(b.ident(adv)))
        elif child == "audiences":
            cat.audiences.add(b.audience(b.ident(adv), 1))
        else:
            cat.users.add(b.user(advertiser_id=adv.id))
        return b.ident(adv)
    if parent == "publishers":
        if child == "sites":
            cat.sites.add(b.site(b.ident(pub)))
        else:
            cat.users.add(b.user(role=Role.PUBLISHER, publisher_id=pub.id))
        return b.ident(pub)
    if parent == "sites":
        st = cat.sites.add(b.site(b.ident(pub)))
        cat.placements.add(b.placement(b.ident(st)))
        return b.ident(st)
    camp = cat.campaigns.add(b.campaign(b.ident(adv)))
    cat.creatives.add(b.creative(b.ident(adv), b.ident(camp)))
    return b.ident(camp)


@pytest.mark.parametrize(
    ("parent", "child", "reason"),
    [
        ("advertisers", "campaigns", "advertiser has campaigns"),
        ("advertisers", "audiences", "advertiser has audiences"),
        ("advertisers", "users", "advertiser has users"),
        ("publishers", "sites", "publisher has sites"),
        ("publishers", "users", "publisher has users"),
        ("sites", "placements", "site has placements"),
        ("campaigns", "creatives", "campaign has creatives"),
    ],
)
def test_delete_with_children(catalog: SqlCatalog, parent: str, child: str, reason: str) -> None:
    ident = _with_child(catalog, parent, child)
    repo = getattr(catalog, parent)
    before = catalog.version()
    with pytest.raises(Conflict) as info:
        repo.delete(ident)
    assert _only_field(info.value) == FieldError("id", reason)
    assert info.value.message == reason
    assert repo.find(ident) is not None
    assert catalog.version() == before


def test_moving_campaign_with_creatives_to_another_advertiser(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    catalog.creatives.add(b.creative(w.adv_id, w.campaign_id))
    other = catalog.advertisers.add(b.advertiser("other"))
    with pytest.raises(Conflict) as info:
        catalog.campaigns.update(replace(w.campaign, advertiser_id=b.ident(other)))
    assert _only_field(info.value) == FieldError("advertiser_id", "campaign has creatives")
    assert catalog.campaigns.get(w.campaign_id).advertiser_id == w.adv_id


def test_deleting_a_user_deletes_their_tokens(catalog: SqlCatalog) -> None:
    owner = catalog.users.add(b.user(role=Role.ADMIN))
    tok = catalog.tokens.add(b.token(b.ident(owner)))
    catalog.users.delete(b.ident(owner))
    assert catalog.tokens.find(b.ident(tok)) is None


def test_conflict_inside_a_transaction_leaves_it_usable(catalog: SqlCatalog) -> None:
    """The failed statement is undone by its savepoint; the unit of work goes on (on
    PostgreSQL the whole transaction would otherwise be aborted)."""
    w = build_world(catalog)
    with catalog.transaction():
        with pytest.raises(Conflict):
            catalog.sites.add(b.site(w.pub_id, domain=w.site.domain))
        kept = catalog.sites.add(b.site(w.pub_id, domain="fresh.example"))
    assert catalog.sites.get(b.ident(kept)).domain == "fresh.example"
