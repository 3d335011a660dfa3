"""Signed tracking tokens: round trips, and refusal of every tampered, stale or odd token."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import replace
from functools import partial

import pytest

from backbeat.domain.events import EventType
from backbeat.domain.taxonomy import AdFormat, DeviceType
from backbeat.errors import ValidationFailed
from backbeat.tracking import signing
from backbeat.tracking.errors import (
    BadSignature,
    ExpiredToken,
    MalformedToken,
    RejectReason,
    TokenRejected,
    TokenTooLong,
    WrongKind,
)
from backbeat.tracking.signing import MAX_TOKEN_CHARS, sign, verify
from tests.tracking.conftest import NOW, SECRET, make_payload

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def raw_of(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def token_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("kind", [EventType.IMPRESSION, EventType.VIEWABLE, EventType.CLICK])
def test_round_trip_keeps_every_field(kind: EventType) -> None:
    payload = make_payload(kind=kind, price_micros=1_250_000 if kind is EventType.CLICK else 2_500)
    token = sign(payload, SECRET)
    assert verify(token, SECRET, NOW) == payload
    assert set(token) <= set(B64)
    assert len(token) < 250  # fits comfortably in a URL


def test_round_trip_without_visitor_or_site_domain() -> None:
    payload = make_payload(
        visitor=None, site_domain="", genre_match=False, device=DeviceType.TABLET,
        format=AdFormat.VIDEO, size="640x360", freq_window_s=0, genre="",
    )
    assert verify(sign(payload, SECRET), SECRET, NOW) == payload


def test_non_ascii_text_fields_round_trip() -> None:
    payload = make_payload(site_domain="xn--bcher-kva.example", genre="k-pop", visitor="hé")
    assert verify(sign(payload, SECRET), SECRET, NOW) == payload


def test_every_tampered_byte_is_refused() -> None:
    token = sign(make_payload(kind=EventType.CLICK), SECRET)
    raw = raw_of(token)
    for i in range(len(raw)):
        for flip in (0x01, 0x80):
            forged = bytearray(raw)
            forged[i] ^= flip
            with pytest.raises(TokenRejected) as err:
                verify(token_of(bytes(forged)), SECRET, NOW)
            # Flipping the version byte is malformed; anything else fails the MAC.
            expected = RejectReason.MALFORMED if i == 0 else RejectReason.BAD_SIGNATURE
            assert err.value.reason is expected, i


def test_every_replaced_character_is_refused() -> None:
    token = sign(make_payload(), SECRET)
    for i, ch in enumerate(token):
        other = B64[(B64.index(ch) + 1) % 64]
        with pytest.raises(TokenRejected):
            verify(token[:i] + other + token[i + 1 :], SECRET, NOW)


def test_truncated_and_extended_tokens_are_refused() -> None:
    token = sign(make_payload(), SECRET)
    for cut in (1, 2, 4, 10, len(token) - 8):
        with pytest.raises(TokenRejected):
            verify(token[:-cut], SECRET, NOW)
    with pytest.raises(TokenRejected):
        verify(token + "AAAA", SECRET, NOW)


def test_non_canonical_base64_is_refused() -> None:
    # A body length that is not a multiple of 3 leaves unused low bits in the last char.
    token = next(
        t for n in range(3) if len(t := sign(make_payload(genre="x" * n), SECRET)) % 4
    )
    unused_bits = {2: 0b1111, 3: 0b11}[len(token) % 4]
    last = B64.index(token[-1])
    assert last & unused_bits == 0
    twin = token[:-1] + B64[last | 1]
    assert raw_of(twin) == raw_of(token)  # decodes to the very same bytes…
    with pytest.raises(MalformedToken):  # …but is a second spelling, so refused
        verify(twin, SECRET, NOW)


def test_wrong_secret_is_a_bad_signature() -> None:
    token = sign(make_payload(), SECRET)
    with pytest.raises(BadSignature) as err:
        verify(token, b"another-secret-0123456789-abcdefgh", NOW)
    assert err.value.status == 403
    assert err.value.code == "bad_signature"


def test_expiry_is_checked_after_the_signature() -> None:
    payload = make_payload(expires=int(NOW) + 10)
    token = sign(payload, SECRET)
    assert verify(token, SECRET, NOW + 9.999) == payload
    with pytest.raises(ExpiredToken) as err:
        verify(token, SECRET, NOW + 10)
    assert err.value.status == 410
    assert err.value.reason is RejectReason.EXPIRED
    assert err.value.expired_at == int(NOW) + 10
    # An expired forgery is reported as a forgery, never as "expired".
    raw = bytearray(raw_of(token))
    raw[-1] ^= 1
    with pytest.raises(BadSignature):
        verify(token_of(bytes(raw)), SECRET, NOW + 100)


@pytest.mark.parametrize(
    "garbage",
    ["", "!!!!", "abc", "A", "héllo", "tøken-with-ünïcode", "AAAA" * 10, "a b c d", "abc=",
     "../../etc/passwd", "\x00\x01\x02", "😀" * 5],
)
def test_garbage_is_malformed_not_a_crash(garbage: str) -> None:
    with pytest.raises(TokenRejected) as err:
        verify(garbage, SECRET, NOW)
    assert err.value.reason in (RejectReason.MALFORMED, RejectReason.BAD_SIGNATURE)
    assert err.value.status == 403


def test_random_bytes_with_the_right_version_fail_the_mac() -> None:
    for _ in range(50):
        raw = bytes([signing.VERSION]) + os.urandom(120)
        with pytest.raises(BadSignature):
            verify(token_of(raw), SECRET, NOW)


def test_huge_tokens_are_refused_before_parsing() -> None:
    with pytest.raises(TokenTooLong) as err:
        verify("A" * (MAX_TOKEN_CHARS + 1), SECRET, NOW)
    assert err.value.reason is RejectReason.TOO_LONG
    with pytest.raises(TokenTooLong):
        verify("é" * 1_000_000, SECRET, NOW)
    # At the limit it is parsed (and here fails the MAC, as the bytes are not ours).
    with pytest.raises(BadSignature):
        verify("AQ" + "A" * (MAX_TOKEN_CHARS - 2), SECRET, NOW)


def test_unknown_version_is_malformed() -> None:
    raw = bytearray(raw_of(sign(make_payload(), SECRET)))
    raw[0] = 99
    with pytest.raises(MalformedToken, match="version"):
        verify(token_of(bytes(raw)), SECRET, NOW)


def test_a_body_that_parses_badly_behind_a_good_mac_is_malformed() -> None:
    # Sign a body by hand that is cut short: the MAC is right, the packing is not.
    key = signing._token_key(SECRET)
    body = signing._pack(make_payload())[:-5]
    token = token_of(body + signing._mac(key, body))
    with pytest.raises(MalformedToken, match=r"truncated|trailing"):
        verify(token, SECRET, NOW)


def test_enum_without_a_code_is_written_as_text() -> None:
    # Enum members added to the domain later have no code yet: they travel as text.
    packed = signing._code(AdFormat.NATIVE, {})
    assert packed == b"\x00\x06native"
    reader = signing._Reader(packed, 0)
    assert reader.code(signing._FORMATS, AdFormat) is AdFormat.NATIVE


def test_sign_names_every_bad_field() -> None:
    bad = make_payload(
        kind=EventType.DECISION, decision_id="nope", campaign_id=-1, price_micros=1 << 40,
        size="big", country="usa", genre="g" * 100,
    )
    with pytest.raises(ValidationFailed) as err:
        sign(bad, SECRET)
    fields = {f.field for f in err.value.fields}
    assert fields == {"kind", "decision_id", "campaign_id", "price_micros", "size", "country",
                      "genre"}


class _Id(int):
    """An int subclass: validate takes it, the quick check leaves it to validate."""


_ID = make_payload().decision_id
_QUICK_CHECK_CASES: list[dict[str, object]] = [
    {},
    {"kind": EventType.DECISION},
    {"kind": "impression"},
    {"decision_id": "nope"},
    {"decision_id": _ID.upper()},  # valid: hex digits in either case
    {"decision_id": "{" + _ID + "}"},  # valid: another spelling uuid.UUID takes
    {"decision_id": _ID.replace("-", "")},
    {"decision_id": "urn:uuid:" + _ID},
    {"decision_id": _ID[:-1] + "g"},
    {"decision_id": 12},
    {"campaign_id": -1},
    {"campaign_id": 1 << 32},
    {"campaign_id": (1 << 32) - 1},
    {"campaign_id": True},
    {"campaign_id": 1.0},
    {"campaign_id": _Id(7)},
    {"expires": None},
    {"price_micros": 1 << 40},
    {"freq_window_s": -5},
    {"size": "big"},
    {"size": "0x250"},
    {"size": "70000x1"},
    {"size": "300X250"},
    {"size": 300},
    {"country": "usa"},
    {"country": "us"},
    {"country": "U"},
    {"country": "ÜS"},
    {"country": "U1"},
    {"country": None},
    {"genre": "g" * 64},
    {"genre": "g" * 65},
    {"genre": "é" * 32},
    {"genre": "é" * 33},
    {"genre": "\ud800"},
    {"visitor": None},
    {"visitor": ""},
    {"visitor": "v" * 65},
    {"site_domain": "d" * 253},
    {"site_domain": "d" * 254},
]


@pytest.mark.parametrize("overrides", _QUICK_CHECK_CASES)
def test_validate_answers_the_same_with_or_without_its_quick_check(
    overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """validate() returns at once when its quick check passes; the quick check must never
    pass a payload the full checks refuse, and a payload it cannot vouch for gets the full
    checks (so the answer, refusal or not, is the same)."""
    payload = make_payload(**overrides)

    def outcome() -> object:
        try:
            payload.validate()
        except ValidationFailed as exc:
            return sorted(f.field for f in exc.fields)
        except Exception as exc:  # a crash must be the same crash
            return type(exc)
        return "ok"

    quick = outcome()
    monkeypatch.setattr(signing.TrackingPayload, "_signable", lambda self: False)
    assert quick == outcome()
    if quick != "ok":
        monkeypatch.undo()
        assert not payload._signable()


@pytest.mark.parametrize(
    "spelling", [str.upper, lambda u: "{" + u + "}", lambda u: u.replace("-", "")]
)
def test_every_spelling_of_a_decision_id_packs_the_same(spelling: Callable[[str], str]) -> None:
    payload = make_payload()
    assert sign(replace(payload, decision_id=spelling(payload.decision_id)), SECRET) == sign(
        payload, SECRET
    )


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        sign(make_payload(), b"short")
    assert err.value.fields[0].field == "secret"


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"visitor": None, "site_domain": "", "genre_match": False, "genre": ""},
        {"format": AdFormat.VIDEO, "size": "640x360", "device": DeviceType.MOBILE, "genre": "jé"},
    ],
)
@pytest.mark.parametrize("prices", [(2_500, 0), (0, 1_250_000), (0, 0)])
def test_sign_links_equals_three_signs(overrides: dict[str, object], prices: tuple[int, int]) -> None:
    base = make_payload(price_micros=777, **overrides)
    imp_price, click_price = prices
    imp, view, click = signing.sign_links(base, SECRET, imp_price, click_price)
    expected = [
        replace(base, kind=EventType.IMPRESSION, price_micros=imp_price),
        replace(base, kind=EventType.VIEWABLE, price_micros=0),
        replace(base, kind=EventType.CLICK, price_micros=click_price),
    ]
    assert [imp, view, click] == [sign(p, SECRET) for p in expected]
    assert [verify(t, SECRET, NOW) for t in (imp, view, click)] == expected


def test_sign_links_names_bad_fields_and_prices() -> None:
    bad = make_payload(decision_id="nope", country="usa")
    with pytest.raises(ValidationFailed) as err:
        signing.sign_links(bad, SECRET, 0, 0)
    assert {f.field for f in err.value.fields} == {"decision_id", "country"}
    with pytest.raises(ValidationFailed) as err:
        signing.sign_links(make_payload(), SECRET, -1, 1 << 40)
    assert {f.field for f in err.value.fields} == {"imp_price_micros", "click_price_micros"}
    with pytest.raises(ValidationFailed) as err:
        signing.sign_links(make_payload(), b"short", 0, 0)
    assert err.value.fields[0].field == "secret"


def test_unpack_verified_reads_what_verify_accepted_and_refuses_garbage() -> None:
    payload = make_payload(genre="hip-hop \u00e9")
    token = sign(payload, SECRET)
    assert signing.unpack_verified(token) == verify(token, SECRET, NOW) == payload
    for bad in ("", "!!!!", token[:30], base64.urlsafe_b64encode(b"\x09" * 60).decode()):
        with pytest.raises(MalformedToken):
            signing.unpack_verified(bad)


def _refusal(check: Callable[[], object]) -> tuple[type[TokenRejected], str] | None:
    try:
        check()
    except TokenRejected as exc:
        return type(exc), str(exc)
    return None


def test_verify_kind_refuses_what_verify_refuses_in_the_same_words() -> None:
    good = sign(make_payload(kind=EventType.IMPRESSION, expires=int(NOW) + 10), SECRET)
    raw = raw_of(good)
    tampered = [token_of(raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1:]) for i in range(len(raw))]
    key = signing._token_key(SECRET)
    short_body = signing._pack(make_payload())[:-5]
    tokens = [
        good, good + "AAAA", good[:-3], "", "!!!!", "héllo", "A" * (MAX_TOKEN_CHARS + 1),
        token_of(bytes([99]) + raw[1:]), token_of(short_body + signing._mac(key, short_body)),
        *tampered,
    ]
    for when in (NOW, NOW + 10):  # before and at the expiry
        for token in tokens:
            expected = _refusal(partial(verify, token, SECRET, when))
            got = _refusal(
                partial(signing.verify_kind, token, SECRET, when, EventType.IMPRESSION)
            )
            if expected is not None and "truncated" in expected[1] and got is None:
                continue  # an authentic body is not parsed again (see the next test)
            assert got == expected, token


def test_verify_kind_takes_kind_and_expiry_from_the_body_alone() -> None:
    for kind in (EventType.IMPRESSION, EventType.VIEWABLE, EventType.CLICK):
        token = sign(make_payload(kind=kind, expires=int(NOW) + 10), SECRET)
        signing.verify_kind(token, SECRET, NOW + 9.9, kind)  # accepted: does not raise
        others = [k for k in (EventType.IMPRESSION, EventType.VIEWABLE, EventType.CLICK)
                  if k is not kind]
        for other in others:
            with pytest.raises(WrongKind) as err:
                signing.verify_kind(token, SECRET, NOW, other)
            assert err.value.reason is RejectReason.WRONG_KIND
            assert str(err.value).endswith(f"a {kind.value} link used as a {other.value} link")
        # Expiry is told before the kind, as the routes did with verify().
        with pytest.raises(ExpiredToken):
            signing.verify_kind(token, SECRET, NOW + 10, others[0])


def test_verify_kind_reads_a_kind_written_as_text() -> None:
    key = signing._token_key(SECRET)
    payload = make_payload(kind=EventType.VIEWABLE, expires=int(NOW) + 10)
    packer = signing._Packer(payload)
    body = packer.head + signing._PRICE.pack(0) + packer.after_price
    body += signing._code(EventType.VIEWABLE, {}) + packer.tail  # no code: as text
    token = token_of(body + signing._mac(key, body))
    assert verify(token, SECRET, NOW).kind is EventType.VIEWABLE
    signing.verify_kind(token, SECRET, NOW, EventType.VIEWABLE)
    with pytest.raises(WrongKind):
        signing.verify_kind(token, SECRET, NOW, EventType.CLICK)
    with pytest.raises(ExpiredToken):
        signing.verify_kind(token, SECRET, NOW + 10, EventType.VIEWABLE)


def test_the_mac_is_hmac_sha256_of_the_body_truncated() -> None:
    import hashlib
    import hmac

    key = signing._token_key(SECRET)
    for n in range(40):
        body = os.urandom(n * 7)
        assert signing._mac(key, body) == hmac.new(key, body, hashlib.sha256).digest()[:16]


def test_bodies_behind_a_good_mac_that_do_not_unpack_are_malformed() -> None:
    key = signing._token_key(SECRET)
    packer = signing._Packer(make_payload(genre="rock"))
    head = packer.head + signing._PRICE.pack(0) + packer.after_price
    good_codes = b"\x01\x01\x01\x01"
    bodies = {
        "unknown EventType code 9": head + b"\x09\x01\x01\x01" + packer.tail,
        "unknown AdFormat code 0": head + b"\x01\x00\x00" + packer.tail,  # "" as text
        "text is not UTF-8": head + good_codes + b"\x02\xff\xfe" + b"\x00",
        "trailing bytes": head + good_codes + packer.tail[3:] + b"x",
        "truncated": head + good_codes + b"\x09abc",
    }
    for reason, body in bodies.items():
        with pytest.raises(MalformedToken, match=reason.split(" code")[0]):
            verify(token_of(body + signing._mac(key, body)), SECRET, NOW)
