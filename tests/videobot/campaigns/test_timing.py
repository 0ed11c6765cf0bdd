"""Reading the times moderators type: relative, absolute, and a clear refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.videobot.campaigns.conftest import NOW
from videobot.campaigns import (
    CampaignError,
    parse_when,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW + timedelta(hours=2)),
        ("7d", NOW + timedelta(days=7)),
        ("1d12h", NOW + timedelta(days=1, hours=12)),
        ("90m", NOW + timedelta(minutes=90)),
        ("1w", NOW + timedelta(weeks=1)),
        ("now", NOW),
        ("2026-10-31 18:00", datetime(2026, 10, 31, 18, 0, tzinfo=UTC)),
        ("2026-10-31", datetime(2026, 10, 31, tzinfo=UTC)),
        ("2026-10-31T20:00+02:00", datetime(2026, 10, 31, 18, 0, tzinfo=UTC)),
    ],
)
def test_times_relative_and_absolute(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == expected


def test_unreadable_time_says_what_works() -> None:
    with pytest.raises(CampaignError, match="relative time like `2h`"):
        parse_when("next tuesday", NOW)


@pytest.mark.parametrize("text", ["999999999d", "99999999999w", "400d", "2100-01-01"])
def test_a_time_too_far_ahead_is_refused_not_overflowed(text: str) -> None:
    with pytest.raises(CampaignError, match="too far ahead: a campaign is at most 366 days away"):
        parse_when(text, NOW)
