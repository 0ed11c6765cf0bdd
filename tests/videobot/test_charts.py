"""Report charts: the real figures (a bar per day, a point per day) and valid PNG images of them."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, date, datetime, timedelta

import pytest
from matplotlib.container import BarContainer

from storage.tables import Campaign
from videobot.campaigns import CampaignActivity, CampaignDay
from videobot.charts import (
    DPI,
    SIZE_INCHES,
    campaign_alt_text,
    campaign_figure,
    campaign_png,
    render_png,
    usage_alt_text,
    usage_figure,
    usage_png,
)
from videobot.usage import DayUsage

START = date(2026, 10, 1)


def usage_days(count: int) -> list[DayUsage]:
    return [DayUsage(START + timedelta(days=i), jobs=i % 4, credits=(i % 4) * 40) for i in range(count)]


def activity(count: int) -> CampaignActivity:
    campaign = Campaign(
        id=1,
        guild_id=1,
        name="Halloween",
        name_key="halloween",
        starts_at=datetime(2026, 10, 1, tzinfo=UTC),
        ends_at=datetime(2026, 10, 31, tzinfo=UTC),
        credits_per_member=10,
        created_by=1,
        announce_channel_id=1,
    )
    days = [CampaignDay(START + timedelta(days=i), entries=i % 3, votes=i % 5) for i in range(count)]
    return CampaignActivity(campaign, days)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature and the chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    header = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    assert zlib.crc32(kind + header) == crc
    assert data.endswith(b"IEND\xaeB`\x82")
    width, height = struct.unpack(">II", header[:8])
    return width, height


def bars(container_owner: object) -> list[BarContainer]:
    return [c for c in container_owner.containers if isinstance(c, BarContainer)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("count", [1, 7, 90])
def test_the_usage_chart_has_a_videos_bar_and_a_credits_bar_per_day(count: int) -> None:
    days = usage_days(count)
    figure = usage_figure(days)
    videos, credits = figure.axes
    [video_bars] = bars(videos)
    [credit_bars] = bars(credits)
    assert len(video_bars) == count
    assert len(credit_bars) == count
    assert [bar.get_height() for bar in video_bars] == [d.jobs for d in days]
    assert [bar.get_height() for bar in credit_bars] == [d.credits for d in days]
    # At most about ten date labels, whatever the period.
    assert 1 <= len(credits.get_xticks()) <= 10
    assert credits.get_xticklabels()[0].get_text() == "10-01"


def test_the_campaign_chart_has_an_entries_bar_and_a_votes_point_per_day() -> None:
    data = activity(12)
    figure = campaign_figure(data)
    [axes] = figure.axes
    [entry_bars] = bars(axes)
    [votes] = axes.get_lines()
    assert [bar.get_height() for bar in entry_bars] == [d.entries for d in data.days]
    assert votes.get_ydata().tolist() == [d.votes for d in data.days]  # type: ignore[union-attr]
    assert votes.get_marker() == "o"  # a visible point per day
    assert "Halloween" in axes.get_title(loc="left")


async def test_the_charts_render_as_png_of_the_documented_size() -> None:
    expected = (int(SIZE_INCHES[0] * DPI), int(SIZE_INCHES[1] * DPI))
    assert png_size(await usage_png(usage_days(7))) == expected
    assert png_size(await campaign_png(activity(3))) == expected
    # An empty period still draws (axes, no bars) rather than failing.
    assert png_size(render_png(usage_figure([DayUsage(START, 0, 0)]))) == expected


def test_a_png_checker_that_can_fail() -> None:
    good = render_png(usage_figure(usage_days(2)))
    with pytest.raises(AssertionError):
        png_size(good[:20] + b"x" + good[21:])  # one byte of the header changed: the CRC no longer holds


def test_alt_text_says_what_the_chart_shows() -> None:
    days = usage_days(7)
    text = usage_alt_text(days)
    assert "7 days" in text
    assert f"{sum(d.jobs for d in days)} videos" in text
    assert "Busiest day 2026-10-04 with 3 videos" in text
    assert "6 entries (bars) and 11 votes (line)" in campaign_alt_text(activity(7))
