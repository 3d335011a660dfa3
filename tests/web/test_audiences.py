"""A serving worker's audience keys: those of the index's audiences, and a re-warm of each
key a new index adds."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import cast

import pytest

from backbeat.domain.audience import Audience, AudienceRule, Engagement
from backbeat.serving.index import CandidateIndex
from backbeat.web.audiences import AudienceKeys, audience_keys


@dataclass
class FakeIndex:
    """The two attributes AudienceKeys reads."""

    version: int
    audiences: dict[int, Audience] = field(default_factory=dict)


def audience(audience_id: int, engagement: Engagement, campaign_id: int) -> Audience:
    return Audience(1, f"a{audience_id}", AudienceRule(engagement, campaign_id, 30), audience_id)


def test_the_keys_are_those_the_audiences_read() -> None:
    index = FakeIndex(1, {1: audience(1, Engagement.VIEWED, 7), 2: audience(2, Engagement.CLICKED, 7)})
    assert audience_keys(cast(CandidateIndex, index)) == {"viewed:7", "clicked:7"}
    assert audience_keys(cast(CandidateIndex, FakeIndex(2))) == frozenset()


def test_a_key_the_catalog_adds_is_rewarmed_after_the_delay_and_only_it() -> None:
    warmed: list[frozenset[str]] = []
    done = threading.Event()

    def rewarm(keys: frozenset[str]) -> None:
        warmed.append(keys)
        done.set()

    start = FakeIndex(1, {1: audience(1, Engagement.VIEWED, 7)})
    keys = AudienceKeys(cast(CandidateIndex, start), rewarm, delay_s=0.05)
    assert keys.current() == {"viewed:7"}
    assert not keys.timers  # the start-up keys are warmed with everything else
    grown = FakeIndex(2, {1: audience(1, Engagement.VIEWED, 7),
                          3: audience(3, Engagement.CLICKED, 9)})
    keys.update(cast(CandidateIndex, grown))
    assert keys.current() == {"viewed:7", "clicked:9"}
    assert not warmed  # not before the delay: the dropped effects' events are not stored yet
    assert done.wait(5)
    assert warmed == [frozenset({"clicked:9"})]
    keys.update(cast(CandidateIndex, FakeIndex(3, {3: audience(3, Engagement.CLICKED, 9)})))
    assert keys.current() == {"clicked:9"}
    assert len(keys.timers) == 1  # nothing to load for a removal
    keys.close()


def test_a_failing_rewarm_is_logged_and_the_keys_stay_current(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failed = threading.Event()

    def rewarm(keys: frozenset[str]) -> None:
        failed.set()
        raise OSError("the ingest process went away")

    keys = AudienceKeys(cast(CandidateIndex, FakeIndex(1)), rewarm, delay_s=0.0)
    keys.update(cast(CandidateIndex, FakeIndex(2, {1: audience(1, Engagement.VIEWED, 4)})))
    assert keys.current() == {"viewed:4"}
    assert failed.wait(5)
    keys.timers[0].join(5)
    assert "re-warming audiences ['viewed:4'] failed" in caplog.text
    assert keys.current() == {"viewed:4"}


def test_without_a_rewarm_the_keys_follow_the_index_alone() -> None:
    keys = AudienceKeys(cast(CandidateIndex, FakeIndex(1)))  # the ingest process's use
    keys.update(cast(CandidateIndex, FakeIndex(2, {1: audience(1, Engagement.CLICKED, 4)})))
    assert keys.current() == {"clicked:4"} and not keys.timers


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError):
        AudienceKeys(cast(CandidateIndex, FakeIndex(1)), lambda keys: None, delay_s=-1)
