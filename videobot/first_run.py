"""What a new member can do on day one: the price of a default video of each kind, against the
starting balance.

A member who types ``/video text a cat surfing`` and nothing else gets the catalog's default model
with its default duration (and resolution). If the starting balance cannot pay for that, the bot
refuses the very first thing a newcomer tries; `/videobot setup` and the start-up log say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from videobot.catalog import KINDS, Catalog, Kind
from videobot.catalog.catalog import seconds_text


@dataclass(frozen=True)
class DefaultVideo:
    """The video ``/video <kind>`` makes when the member gives only what is required."""

    kind: Kind
    model_id: str
    duration: int
    resolution: str | None
    cost: int

    @property
    def settings(self) -> str:
        """The duration (and resolution) as a member reads them: ``8 s`` or ``5 s, 720p``."""
        text = seconds_text(self.duration)
        return text if self.resolution is None else f"{text}, {self.resolution}"


def default_videos(catalog: Catalog, price_overrides: Mapping[str, int] | None = None) -> list[DefaultVideo]:
    """One default video per kind (text, then image), priced with a server's overrides if given."""
    overrides = price_overrides or {}
    videos = []
    for kind in KINDS:
        model = catalog.default_model(kind)
        catalog_price = model.price(model.default_duration, model.default_resolution)
        videos.append(
            DefaultVideo(
                kind=kind,
                model_id=model.id,
                duration=model.default_duration,
                resolution=model.default_resolution,
                cost=overrides.get(model.id, catalog_price),
            )
        )
    return videos


def first_run_shortfall(videos: list[DefaultVideo], starting_balance: int) -> int:
    """Credits missing for a new member to make one default video of each kind (0: none missing)."""
    return max(0, sum(video.cost for video in videos) - starting_balance)
