from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backbeat.domain.accounts import ApiToken, Role, User, check_password
from backbeat.domain.audience import Audience, AudienceRule, Engagement
from backbeat.errors import ValidationFailed


def test_audience_rule_bounds_and_description() -> None:
    rule = AudienceRule(Engagement.VIEWED, 7, days=30, min_count=3)
    assert rule.describe() == "viewed campaign 7 at least 3 times in the last 30 days"
    Audience(1, "Engaged fans", rule).validate()
    with pytest.raises(ValidationFailed) as exc:
        Audience(1, "Too long", AudienceRule(Engagement.CLICKED, 7, days=365)).validate()
    assert exc.value.fields[0].field == "rule.days"


def test_user_roles_and_tenants() -> None:
    User("a@x.io", Role.ADMIN, "h").validate()
    User("b@x.io", Role.ADVERTISER, "h", advertiser_id=1).validate()
    with pytest.raises(ValidationFailed):
        User("b@x.io", Role.ADVERTISER, "h").validate()
    with pytest.raises(ValidationFailed):
        User("c@x.io", Role.PUBLISHER, "h", advertiser_id=1, publisher_id=2).validate()
    with pytest.raises(ValidationFailed):
        User("c@x.io", Role.ADMIN, "h", publisher_id=2).validate()


def test_password_length() -> None:
    with pytest.raises(ValidationFailed):
        check_password("short")
    assert check_password("long enough pass") == "long enough pass"


def test_token_usable() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    t = ApiToken(1, "ci", "abcd", "h", created_at=now, expires_at=now + timedelta(days=1))
    assert t.usable(now)
    assert not t.usable(now + timedelta(days=2))
    assert not ApiToken(1, "ci", "abcd", "h", created_at=now, revoked_at=now).usable(now)
