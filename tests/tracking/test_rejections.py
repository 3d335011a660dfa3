"""Rejections: refused links are counted by reason and still refused."""

from __future__ import annotations

import threading

import pytest

from backbeat.tracking.errors import BadSignature, ExpiredToken, MalformedToken, TokenTooLong
from backbeat.tracking.rejections import Rejections
from backbeat.tracking.signing import MAX_TOKEN_CHARS, sign
from tests.tracking.conftest import NOW, SECRET, make_payload


def test_valid_tokens_pass_uncounted() -> None:
    r = Rejections()
    payload = make_payload()
    assert r.verify(sign(payload, SECRET), SECRET, NOW) == payload
    assert r.total() == 0


def test_each_refusal_is_counted_by_reason_and_re_raised() -> None:
    r = Rejections()
    good = sign(make_payload(expires=int(NOW) + 5), SECRET)
    with pytest.raises(BadSignature):
        r.verify(good, b"some-other-secret-0123456789abc", NOW)
    with pytest.raises(ExpiredToken):
        r.verify(good, SECRET, NOW + 5)
    with pytest.raises(ExpiredToken):
        r.verify(good, SECRET, NOW + 50)
    with pytest.raises(MalformedToken):
        r.verify("%%%", SECRET, NOW)
    with pytest.raises(TokenTooLong):
        r.verify("A" * (MAX_TOKEN_CHARS + 1), SECRET, NOW)
    assert r.snapshot() == {
        "too_long": 1, "malformed": 1, "bad_signature": 1, "expired": 2, "wrong_kind": 0,
    }
    assert r.total() == 5


def test_counts_are_exact_under_threads() -> None:
    r = Rejections()

    def work() -> None:
        for _ in range(200):
            with pytest.raises(MalformedToken):
                r.verify("!", SECRET, NOW)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.snapshot()["malformed"] == 1200
