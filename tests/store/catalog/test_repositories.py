"""The repository contract (CRUD, paging, ordering, filters), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import StatementError

from backbeat.domain.accounts import Role
from backbeat.domain.campaign import CampaignStatus, FrequencyCap, Targeting
from backbeat.domain.creative import ReviewStatus
from backbeat.domain.taxonomy import Size
from backbeat.errors import NotFound
from backbeat.store.catalog import SqlCatalog
from backbeat.store.catalog.protocol import iter_pages
from tests.store.catalog import builders as b
from tests.store.catalog.builders import World, build_world

# kind -> (repository attribute, builder of a complete object from the stored parents)
Make = Callable[[SqlCatalog, World], Any]
KINDS: dict[str, tuple[str, Make]] = {
    "advertiser": ("advertisers", lambda c, w: b.advertiser("Kestrel Music")),
    "publisher": ("publishers", lambda c, w: b.publisher("Radio Gig")),
    "campaign": ("campaigns", lambda c, w: b.campaign(w.adv_id)),
    "creative": ("creatives", lambda c, w: b.creative(w.adv_id, w.campaign_id)),
    "site": ("sites", lambda c, w: b.site(w.pub_id, domain="gigradio.example")),
    "placement": ("placements", lambda c, w: b.placement(w.site_id)),
    "audience": ("audiences", lambda c, w: b.audience(w.adv_id, w.campaign_id)),
    "user": ("users", lambda c, w: b.user(advertiser_id=w.adv_id)),
    "token": (
        "tokens",
        lambda c, w: b.token(b.ident(c.users.add(b.user("tok@owner.example", role=Role.ADMIN)))),
    ),
}


def _assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_round_trip_keeps_every_field(catalog: SqlCatalog, kind: str) -> None:
    attr, make = KINDS[kind]
    world = build_world(catalog)
    repo = getattr(catalog, attr)
    obj = make(catalog, world)

    stored = repo.add(obj)

    assert isinstance(stored.id, int) and stored.id > 0
    _assert_utc(stored.created_at)
    expected_created = obj.created_at if obj.created_at is not None else stored.created_at
    assert stored == replace(obj, id=stored.id, created_at=expected_created)
    assert repo.get(stored.id) == stored
    assert repo.find(stored.id) == stored


def test_campaign_round_trip_details(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    got = catalog.campaigns.get(w.campaign_id)
    # The instants survive; the zone they come back in is UTC.
    assert got.start == b.START and got.end == b.END
    _assert_utc(got.start)
    _assert_utc(got.end)
    assert got.start.hour == 8 and got.start.microsecond == 123456  # 09:30 Berlin = 08:30 UTC
    assert got.targeting == b.FULL_TARGETING
    assert got.frequency_cap == FrequencyCap(3, 24)
    assert got.budget_total_micros == b.BIG_MICROS and type(got.budget_total_micros) is int
    assert type(got.bid_micros) is int and type(got.budget_daily_micros) is int


def test_optional_fields_empty_round_trip(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    bare = b.campaign(
        w.adv_id, budget_daily_micros=None, frequency_cap=None, targeting=Targeting()
    )
    got = catalog.campaigns.get(b.ident(catalog.campaigns.add(bare)))
    assert got.frequency_cap is None and got.budget_daily_micros is None
    assert got.targeting == Targeting()
    tok = catalog.tokens.add(
        b.token(
            b.ident(catalog.users.add(b.user(role=Role.ADMIN))),
            expires_at=None,
            revoked_at=None,
            last_used_at=None,
        )
    )
    assert catalog.tokens.get(b.ident(tok)) == tok
    assert tok.expires_at is None and tok.revoked_at is None and tok.last_used_at is None


def test_add_ignores_given_id_and_keeps_given_created_at(catalog: SqlCatalog) -> None:
    first = catalog.advertisers.add(b.advertiser("one", id=777, created_at=b.T0))
    assert first.id != 777
    assert first.created_at == b.T0


def test_naive_datetimes_are_refused(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    naive = b.campaign(w.adv_id, start=datetime(2026, 3, 1, 9, 0))
    with pytest.raises(StatementError, match="naive datetime"):
        catalog.campaigns.add(naive)
    assert catalog.campaigns.page().total == 1  # only the world's campaign


def test_update_replaces_and_keeps_created_at(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    changed = replace(
        w.campaign,
        name="Summer single",
        status=CampaignStatus.ACTIVE,
        bid_micros=4_000_000,
        targeting=Targeting(countries=frozenset({"FR"}), sizes=frozenset({Size(320, 50)})),
        frequency_cap=None,
        created_at=None,
    )
    updated = catalog.campaigns.update(changed)
    assert updated == replace(changed, created_at=w.campaign.created_at)
    assert catalog.campaigns.get(w.campaign_id) == updated


def test_update_missing_raises_not_found(catalog: SqlCatalog) -> None:
    ghost = b.advertiser("ghost", id=4242)
    with pytest.raises(NotFound, match="advertiser 4242 not found") as info:
        catalog.advertisers.update(ghost)
    assert info.value.status == 404
    with pytest.raises(ValueError, match="without an id"):
        catalog.advertisers.update(b.advertiser())


def test_delete_then_get_raises_not_found(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    pl = catalog.placements.add(b.placement(w.site_id))
    catalog.placements.delete(b.ident(pl))
    assert catalog.placements.find(b.ident(pl)) is None
    with pytest.raises(NotFound, match=f"placement {pl.id} not found"):
        catalog.placements.get(b.ident(pl))
    with pytest.raises(NotFound):
        catalog.placements.delete(b.ident(pl))


def test_get_missing_names_kind_and_id(catalog: SqlCatalog) -> None:
    for attr, kind in [("campaigns", "campaign"), ("tokens", "token"), ("users", "user")]:
        with pytest.raises(NotFound, match=f"{kind} 99 not found"):
            getattr(catalog, attr).get(99)


# paging and ordering ------------------------------------------------------------------
def _advertisers(catalog: SqlCatalog, names: list[str]) -> list[int]:
    return [b.ident(catalog.advertisers.add(b.advertiser(n, created_at=b.T0))) for n in names]


def test_page_total_limit_offset(catalog: SqlCatalog) -> None:
    ids = _advertisers(catalog, [f"label {i}" for i in range(7)])
    first = catalog.advertisers.page(limit=3)
    assert (first.total, first.limit, first.offset) == (7, 3, 0)
    assert [a.id for a in first.items] == ids[:3]
    last = catalog.advertisers.page(limit=3, offset=6)
    assert [a.id for a in last.items] == ids[6:]
    beyond = catalog.advertisers.page(limit=3, offset=10)
    assert beyond.items == [] and beyond.total == 7
    only_count = catalog.advertisers.page(limit=0)
    assert only_count.items == [] and only_count.total == 7
    assert [a.id for a in iter_pages(catalog.advertisers, page_size=2)] == ids


def test_page_rejects_negative_bounds(catalog: SqlCatalog) -> None:
    with pytest.raises(ValueError, match="negative"):
        catalog.advertisers.page(limit=-1)
    with pytest.raises(ValueError, match="negative"):
        catalog.advertisers.page(offset=-5)


def test_ordering_by_column_descending_and_ties(catalog: SqlCatalog) -> None:
    ids = _advertisers(catalog, ["delta", "alpha", "charlie", "bravo"])
    by_name = catalog.advertisers.page(order="name").items
    assert [a.name for a in by_name] == ["alpha", "bravo", "charlie", "delta"]
    by_name_desc = catalog.advertisers.page(order="-name").items
    assert [a.name for a in by_name_desc] == ["delta", "charlie", "bravo", "alpha"]
    assert [a.id for a in catalog.advertisers.page(order="-id").items] == ids[::-1]
    # Equal created_at: ties fall back to id, so pages never overlap.
    pages = [catalog.advertisers.page(limit=1, offset=i, order="-created_at") for i in range(4)]
    assert [p.items[0].id for p in pages] == ids


def test_order_by_created_at(catalog: SqlCatalog) -> None:
    older = catalog.advertisers.add(b.advertiser("older", created_at=b.T0))
    newer = catalog.advertisers.add(b.advertiser("newer", created_at=b.T0 + timedelta(seconds=1)))
    oldest = catalog.advertisers.add(b.advertiser("oldest", created_at=b.T0 - timedelta(days=1)))
    items = catalog.advertisers.page(order="-created_at").items
    assert [a.id for a in items] == [newer.id, older.id, oldest.id]


@pytest.mark.parametrize("order", ["nope", "-nope", "targeting", "genres", ""])
def test_unknown_or_json_order_raises(catalog: SqlCatalog, order: str) -> None:
    repo = catalog.sites if order == "genres" else catalog.campaigns
    with pytest.raises(ValueError, match="cannot order"):
        repo.page(order=order)


# filters -----------------------------------------------------------------------------
def _campaigns_by_status(catalog: SqlCatalog, w: World) -> dict[CampaignStatus, int]:
    out = {}
    for st in (CampaignStatus.DRAFT, CampaignStatus.ACTIVE, CampaignStatus.COMPLETED):
        camp = catalog.campaigns.add(b.campaign(w.adv_id, name=f"c {st}", status=st))
        out[st] = b.ident(camp)
    return out


def test_filter_equality_and_any_of(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    ids = _campaigns_by_status(catalog, w)
    active = catalog.campaigns.page(where={"status": "active"})
    assert [c.id for c in active.items] == [ids[CampaignStatus.ACTIVE]] and active.total == 1
    # Enum values are accepted as they are.
    assert catalog.campaigns.all({"status": CampaignStatus.DRAFT}) == [
        catalog.campaigns.get(ids[CampaignStatus.DRAFT])
    ]
    either = catalog.campaigns.all({"status": {"draft", "paused"}})
    assert {c.id for c in either} == {ids[CampaignStatus.DRAFT], w.campaign_id}
    as_list = catalog.campaigns.page(where={"id": [w.campaign_id, ids[CampaignStatus.ACTIVE]]})
    assert as_list.total == 2
    assert catalog.campaigns.all({"status": []}) == []
    other = catalog.advertisers.add(b.advertiser("other"))
    catalog.campaigns.add(b.campaign(b.ident(other), name="theirs"))
    tenant = catalog.campaigns.all({"advertiser_id": w.adv_id, "status": ["draft", "paused"]})
    assert {c.id for c in tenant} == {ids[CampaignStatus.DRAFT], w.campaign_id}


def test_filter_none_bool_and_size(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    admin = catalog.users.add(b.user("root@net.example", role=Role.ADMIN))
    member = catalog.users.add(b.user(advertiser_id=w.adv_id))
    assert [u.id for u in catalog.users.all({"advertiser_id": None})] == [admin.id]
    assert [u.id for u in catalog.users.all({"advertiser_id": w.adv_id})] == [member.id]
    off = catalog.placements.add(b.placement(w.site_id, active=False))
    on = catalog.placements.add(b.placement(w.site_id, name="Top", active=True))
    assert [p.id for p in catalog.placements.all({"active": True})] == [on.id]
    assert [p.id for p in catalog.placements.all({"active": False})] == [off.id]
    small = catalog.creatives.add(b.creative(w.adv_id, w.campaign_id, size=Size(320, 50)))
    catalog.creatives.add(b.creative(w.adv_id, w.campaign_id))
    assert [c.id for c in catalog.creatives.all({"size": Size(320, 50)})] == [small.id]
    approved = catalog.creatives.add(
        b.creative(w.adv_id, w.campaign_id, review_status=ReviewStatus.APPROVED)
    )
    assert [c.id for c in catalog.creatives.all({"review_status": "approved"})] == [approved.id]


def test_placements_filter_by_publisher(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    mine = catalog.placements.add(b.placement(w.site_id))
    other_pub = catalog.publishers.add(b.publisher("Other"))
    other_site = catalog.sites.add(b.site(b.ident(other_pub), domain="other.example"))
    theirs = catalog.placements.add(b.placement(b.ident(other_site)))
    assert [p.id for p in catalog.placements.all({"publisher_id": w.pub_id})] == [mine.id]
    both = catalog.placements.all({"publisher_id": {w.pub_id, other_pub.id}})
    assert [p.id for p in both] == [mine.id, theirs.id]


def test_q_is_case_insensitive_substring(catalog: SqlCatalog) -> None:
    _advertisers(catalog, ["Nightjar Records", "Kestrel Music", "night owl", "Jar of Hearts"])
    found = catalog.advertisers.page(where={"q": "NIGHT"})
    assert sorted(a.name for a in found.items) == ["Nightjar Records", "night owl"]
    assert found.total == 2
    assert [a.name for a in catalog.advertisers.all({"q": "jar"})] == [
        "Nightjar Records",
        "Jar of Hearts",
    ]
    assert len(catalog.advertisers.all({"q": ""})) == 4


def test_q_folds_non_ascii_case(catalog: SqlCatalog) -> None:
    _advertisers(catalog, ["Motörhead Tribute", "Sigur Rós Fans", "Motorhead"])
    assert [a.name for a in catalog.advertisers.all({"q": "MOTÖR"})] == ["Motörhead Tribute"]
    assert [a.name for a in catalog.advertisers.all({"q": "RÓS"})] == ["Sigur Rós Fans"]


def test_q_escapes_like_wildcards(catalog: SqlCatalog) -> None:
    _advertisers(catalog, ["50% Off Records", "500 Records", "a_b Music", "axb Music", "c/d", "cd"])
    assert [a.name for a in catalog.advertisers.all({"q": "50%"})] == ["50% Off Records"]
    assert [a.name for a in catalog.advertisers.all({"q": "a_b"})] == ["a_b Music"]
    assert [a.name for a in catalog.advertisers.all({"q": "%"})] == ["50% Off Records"]
    assert [a.name for a in catalog.advertisers.all({"q": "_"})] == ["a_b Music"]
    assert [a.name for a in catalog.advertisers.all({"q": "c/d"})] == ["c/d"]


def test_q_on_users_searches_email(catalog: SqlCatalog) -> None:
    ann = catalog.users.add(b.user("Ann.Lee@Nightjar.example", role=Role.ADMIN))
    catalog.users.add(b.user("bob@kestrel.example", role=Role.ADMIN))
    assert [u.id for u in catalog.users.all({"q": "nightjar"})] == [ann.id]
    assert [u.id for u in catalog.users.all({"q": "ANN.LEE"})] == [ann.id]


def test_q_combines_with_filters(catalog: SqlCatalog) -> None:
    w = build_world(catalog)
    other = catalog.advertisers.add(b.advertiser("other"))
    catalog.campaigns.add(b.campaign(b.ident(other), name="Spring single remix"))
    mine = catalog.campaigns.page(where={"q": "spring", "advertiser_id": w.adv_id})
    assert [c.id for c in mine.items] == [w.campaign_id]


def test_unknown_filter_raises(catalog: SqlCatalog) -> None:
    with pytest.raises(ValueError, match="unknown filter 'colour'"):
        catalog.campaigns.page(where={"colour": "red"})
    with pytest.raises(ValueError, match="unknown filter 'targeting'"):
        catalog.campaigns.all({"targeting": {}})
    with pytest.raises(ValueError, match="unknown filter 'publisher_id'"):
        catalog.campaigns.all({"publisher_id": 1})  # virtual only on placements
    with pytest.raises(ValueError, match="q takes a string"):
        catalog.advertisers.all({"q": 5})


# accounts ----------------------------------------------------------------------------
def test_user_by_email_ignores_case(catalog: SqlCatalog) -> None:
    u = catalog.users.add(b.user("Ann.Lee@Nightjar.example", role=Role.ADMIN))
    assert catalog.users.by_email("ann.lee@nightjar.example") == u
    assert catalog.users.by_email("ANN.LEE@NIGHTJAR.EXAMPLE") == u
    assert catalog.users.by_email(" Ann.Lee@Nightjar.example ") == u
    assert catalog.users.by_email("ann@nightjar.example") is None
    assert u.email == "Ann.Lee@Nightjar.example"  # stored as given


def test_token_by_hash_and_touch(catalog: SqlCatalog) -> None:
    owner = catalog.users.add(b.user(role=Role.ADMIN))
    tok = catalog.tokens.add(b.token(b.ident(owner), token_hash="f" * 64, last_used_at=None))
    catalog.tokens.add(b.token(b.ident(owner), token_hash="e" * 64))
    assert catalog.tokens.by_hash("f" * 64) == tok
    assert catalog.tokens.by_hash("0" * 64) is None
    when = datetime(2026, 2, 2, 10, 0, 0, 1, tzinfo=UTC)
    catalog.tokens.touch(b.ident(tok), when)
    touched = catalog.tokens.get(b.ident(tok))
    assert touched == replace(tok, last_used_at=when)
    _assert_utc(touched.last_used_at)
    with pytest.raises(NotFound, match="token 999 not found"):
        catalog.tokens.touch(999, when)
    assert [t.id for t in catalog.tokens.all({"user_id": owner.id})] == [tok.id, b.ident(tok) + 1]
