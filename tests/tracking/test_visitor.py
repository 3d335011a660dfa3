"""Visitor ids: daily-salted hashes, cookie mode, DNT/GPC anonymity; no raw IP leaks."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import fields
from datetime import date

from backbeat.config import VisitorMode
from backbeat.tracking import visitor
from backbeat.tracking.visitor import (
    ANONYMOUS,
    Visitor,
    abuse_key,
    cookieless_id,
    daily_salt,
    identify,
    new_cookie_id,
    utc_day,
    valid_cookie,
    wants_privacy,
)
from tests.tracking.conftest import CHROME, IPHONE, NOW, SECRET

IP = "203.0.113.77"
DAY = 86_400


def ident(**kw: object) -> Visitor:
    args: dict[str, object] = {
        "secret": SECRET, "mode": VisitorMode.COOKIELESS, "now": NOW,
        "ip": IP, "user_agent": CHROME,
    }
    args.update(kw)
    return identify(**args)  # type: ignore[arg-type]


def test_same_person_same_day_same_site_is_one_visitor() -> None:
    a = ident(now=NOW)
    b = ident(now=NOW + 3600)
    assert a.id == b.id
    assert a.id.startswith("h") and len(a.id) == 23
    assert not a.anonymous
    assert a.new_cookie is None


def test_the_id_changes_with_day_ip_and_user_agent() -> None:
    base = ident().id
    assert ident(now=NOW + DAY).id != base  # a new UTC day, a new salt
    assert ident(ip="203.0.113.78").id != base
    assert ident(user_agent=IPHONE).id != base
    assert ident(secret=b"other-secret-0123456789-abcdefghij").id != base


def test_day_boundary_is_utc_midnight() -> None:
    midnight = 1_764_374_400.0  # 2025-11-29 00:00:00 UTC
    assert utc_day(midnight - 0.001) == date(2025, 11, 28)
    assert utc_day(midnight) == date(2025, 11, 29)
    assert ident(now=midnight - 1).id != ident(now=midnight).id
    assert ident(now=midnight).id == ident(now=midnight + DAY - 1).id


def test_salt_is_derived_so_every_process_agrees() -> None:
    d = date(2025, 11, 28)
    expected = hmac.new(SECRET, b"backbeat/visitor-salt/v1/2025-11-28", hashlib.sha256).digest()
    assert daily_salt(SECRET, d) == expected
    assert daily_salt(SECRET, d) != daily_salt(SECRET, date(2025, 11, 29))
    assert len(daily_salt(SECRET, d)) == 32


def test_equivalent_ip_spellings_hash_alike() -> None:
    assert ident(ip="2001:db8::1").id == ident(ip="2001:0db8:0000::0001").id
    assert ident(ip="::ffff:203.0.113.77").id == ident(ip=IP).id


def test_raw_ip_never_appears_in_the_visitor() -> None:
    v = ident(ip="198.51.100.23")
    for f in fields(v):
        value = getattr(v, f.name)
        assert "198.51.100.23" not in str(value)
    assert {f.name for f in fields(v)} == {"id", "key", "new_cookie"}


def test_length_prefixing_avoids_ambiguous_joins() -> None:
    assert cookieless_id(SECRET, NOW, "1.2.3.4", "5") != cookieless_id(
        SECRET, NOW, "1.2.3.45", ""
    )


def test_dnt_and_gpc_make_the_visitor_anonymous_but_keep_an_abuse_key() -> None:
    for dnt, gpc in (("1", None), (None, "1"), (" 1 ", "0")):
        v = ident(dnt=dnt, gpc=gpc)
        assert v.id == ANONYMOUS
        assert v.anonymous
        assert v.key == abuse_key(SECRET, NOW, IP, CHROME)
    assert not ident(dnt="0", gpc="0").anonymous
    assert wants_privacy("1", None) and wants_privacy(None, "1")
    assert not wants_privacy(None, None) and not wants_privacy("yes", "")


def test_abuse_key_differs_from_the_id() -> None:
    a = ident()
    assert a.key != a.id
    assert a.key.startswith("k")


def test_cookie_mode_keeps_a_valid_cookie() -> None:
    cookie = new_cookie_id()
    v = ident(mode=VisitorMode.COOKIE, cookie=cookie)
    assert v.id == cookie
    assert v.new_cookie is None


def test_cookie_mode_mints_a_cookie_when_missing_or_invalid() -> None:
    minted = ident(mode=VisitorMode.COOKIE, cookie=None, token=lambda n: b"\x01" * n)
    assert minted.id == minted.new_cookie == "cAQEBAQEBAQEBAQEBAQEBAQ"
    forged = ident(mode=VisitorMode.COOKIE, cookie="c<script>", token=lambda n: b"\x02" * n)
    assert forged.id != "c<script>"
    assert forged.new_cookie == forged.id
    assert valid_cookie(forged.id)


def test_cookie_mode_respects_dnt_and_sets_no_cookie() -> None:
    v = ident(mode=VisitorMode.COOKIE, cookie=None, dnt="1")
    assert v.anonymous
    assert v.new_cookie is None


def test_cookie_ids_are_random() -> None:
    ids = {new_cookie_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(valid_cookie(i) for i in ids)
    assert not valid_cookie("h" + "A" * 22)
    assert not valid_cookie(None)


def test_identify_matches_the_public_hashes_and_the_utc_day_salt() -> None:
    for now in (NOW, 1_764_374_400.0 - 0.001, 1_764_374_400.0, 0.0, 4_102_444_800.5):
        v = ident(now=now, ip=" 198.51.100.7 ")
        assert v.id == cookieless_id(SECRET, now, "198.51.100.7", CHROME)
        assert v.key == abuse_key(SECRET, now, "198.51.100.7", CHROME)
        assert visitor._salt_at(SECRET, now) == daily_salt(SECRET, utc_day(now))


def test_ipv4_fast_path_agrees_with_ipaddress() -> None:
    for raw in (
        "203.0.113.77", " 10.0.0.1 ", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4",
        "1.2.3", "1.2.3.4.5", "1..2.3", "١.2.3.4", "+1.2.3.4", "::ffff:1.2.3.4", "2001:db8::1",
        "", "not an ip",
    ):
        try:
            addr = ipaddress.ip_address(raw.strip())
            ipv4 = getattr(addr, "ipv4_mapped", None)
            expected = str(ipv4) if ipv4 is not None else addr.compressed
        except ValueError:
            expected = raw.strip()
        assert visitor._normal_ip(raw) == expected, raw
