"""How often refused prompts reach the moderators: once a minute per member."""

from __future__ import annotations

from datetime import timedelta

from tests.videobot.moderation.conftest import NOW, Clock
from videobot.moderation import AuditThrottle


def test_one_line_per_key_per_minute() -> None:
    clock = Clock()
    throttle = AuditThrottle(clock=clock)
    assert throttle.allow((1, 10))
    assert not throttle.allow((1, 10))
    assert throttle.allow((1, 11))  # another member
    assert throttle.allow((2, 10))  # the same member in another server
    clock.now = NOW + timedelta(seconds=59)
    assert not throttle.allow((1, 10))
    clock.now = NOW + timedelta(seconds=60)
    assert throttle.allow((1, 10))
    assert not throttle.allow((1, 10))  # the window starts again from the line let through


def test_memory_stays_bounded() -> None:
    clock = Clock()
    throttle = AuditThrottle(clock=clock)
    for member in range(10_001):
        assert throttle.allow(member)
    clock.now = NOW + timedelta(minutes=2)
    assert throttle.allow("late")
    assert len(throttle._last) == 1  # the old keys were forgotten
    assert throttle.allow(5)  # and a forgotten key is let through again
