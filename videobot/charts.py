"""Charts for reports: numbers in, PNG bytes out.

matplotlib with its Agg renderer (raster, no display, no GUI toolkit), used through `Figure` directly
rather than pyplot: pyplot keeps global state (the "current figure") that concurrent reports would
share, while a `Figure` with its own `FigureCanvasAgg` is an ordinary object, safe to build in a
worker thread. Building (``*_figure``) is apart from rendering (`render_png`) so tests can count the
bars and points of the real figure before it becomes pixels.

The numbers are always in the message text too; the image's alt text (`usage_alt_text`,
`campaign_alt_text`) summarises it for screen readers.
"""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from videobot.campaigns import CampaignActivity
from videobot.usage import DayUsage

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Discord's embed width: a 2:1 image reads well beside the report without being scaled down much.
SIZE_INCHES = (8.0, 4.0)
DPI = 100
_BLURPLE = "#5865F2"
_GREEN = "#57F287"
_GOLD = "#F1C40F"
_GREY = "#4F545C"
# Alt text is shown by Discord up to 1,024 characters.
_ALT_LIMIT = 1024


def usage_figure(days: Sequence[DayUsage]) -> Figure:
    """Videos per day (bars, top) and credits spent per day (bars, bottom): one bar per day each."""
    figure = _figure()
    videos, credits = figure.subplots(2, 1, sharex=True)
    positions = list(range(len(days)))
    videos.bar(positions, [d.jobs for d in days], color=_BLURPLE)
    videos.set_ylabel("videos")
    videos.set_title("Videos and credits per day (UTC)", loc="left")
    credits.bar(positions, [d.credits for d in days], color=_GREEN)
    credits.set_ylabel("credits")
    _day_axis(credits, [d.day for d in days])
    for axes in (videos, credits):
        _whole_numbers(axes)
    return figure


def campaign_figure(activity: CampaignActivity) -> Figure:
    """Entries per day (bars) and votes per day (a line with a point per day) on one axis."""
    figure = _figure()
    axes = figure.subplots()
    days = activity.days
    positions = list(range(len(days)))
    axes.bar(positions, [d.entries for d in days], color=_GOLD, label="entries")
    axes.plot(positions, [d.votes for d in days], color=_BLURPLE, marker="o", label="votes")
    axes.set_title(f"{activity.campaign.name}: entries and votes per day (UTC)", loc="left")
    axes.legend(loc="upper left")
    _day_axis(axes, [d.day for d in days])
    _whole_numbers(axes)
    return figure


def render_png(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


async def usage_png(days: Sequence[DayUsage]) -> bytes:
    """`usage_figure` rendered, in a worker thread (a render takes tens of milliseconds of CPU)."""
    return await asyncio.to_thread(lambda: render_png(usage_figure(days)))


async def campaign_png(activity: CampaignActivity) -> bytes:
    """`campaign_figure` rendered, in a worker thread."""
    return await asyncio.to_thread(lambda: render_png(campaign_figure(activity)))


def usage_alt_text(days: Sequence[DayUsage]) -> str:
    """What the usage chart shows, in words."""
    busiest = max(days, key=lambda d: (d.jobs, d.day), default=None)
    text = (
        f"Bar charts of videos and credits per day over {len(days)} days: "
        f"{sum(d.jobs for d in days)} videos, {sum(d.credits for d in days)} credits in all."
    )
    if busiest is not None and busiest.jobs:
        text += f" Busiest day {busiest.day:%Y-%m-%d} with {busiest.jobs} videos."
    return text[:_ALT_LIMIT]


def campaign_alt_text(activity: CampaignActivity) -> str:
    """What the campaign chart shows, in words."""
    days = activity.days
    text = (
        f"Chart of {activity.campaign.name} over {len(days)} days: "
        f"{sum(d.entries for d in days)} entries (bars) and {sum(d.votes for d in days)} votes (line)."
    )
    return text[:_ALT_LIMIT]


def _figure() -> Figure:
    # Imported on first use: matplotlib takes a good half second to load (and builds a font cache
    # on its very first run), which the bot's start-up should not pay for a report nobody asked for.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _day_axis(axes: Axes, days: Sequence[date]) -> None:
    """Label the x axis with dates, at most about ten of them so they stay readable."""
    step = max(1, math.ceil(len(days) / 10))
    ticks = list(range(0, len(days), step))
    axes.set_xticks(ticks, [f"{days[i]:%m-%d}" for i in ticks])
    axes.set_xlim(-0.6, max(len(days), 1) - 0.4)


def _whole_numbers(axes: Axes) -> None:
    axes.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", color=_GREY, alpha=0.25)
