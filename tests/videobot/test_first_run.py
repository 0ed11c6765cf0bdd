"""Out of the box, a new member can pay for one default video of each kind (issue: "80 credits and you
have 20"). Computed from the packaged catalog and the configuration's defaults, not hard-coded."""

from __future__ import annotations

from videobot.catalog import load_catalog
from videobot.config import Config
from videobot.first_run import default_videos, first_run_shortfall

SECRETS = {"DISCORD_TOKEN": "discord-secret-token", "MODELSLAB_API_KEY": "modelslab-secret-key"}


def test_the_default_starting_balance_pays_one_default_video_of_each_kind() -> None:
    catalog = load_catalog()
    starting = Config.from_env(SECRETS).starting_balance
    videos = default_videos(catalog)
    assert [v.kind for v in videos] == ["text", "image"]
    for video in videos:
        model = catalog.default_model(video.kind)
        assert video.model_id == model.id
        assert video.cost == model.price(model.default_duration, model.default_resolution)
    assert sum(v.cost for v in videos) <= starting
    assert first_run_shortfall(videos, starting) == 0


def test_the_shortfall_counts_what_is_missing_and_uses_server_prices() -> None:
    catalog = load_catalog()
    videos = default_videos(catalog)
    total = sum(v.cost for v in videos)
    assert first_run_shortfall(videos, total - 7) == 7
    assert first_run_shortfall(videos, 0) == total
    text_model = catalog.default_model("text").id
    cheaper = default_videos(catalog, {text_model: 5})
    assert cheaper[0].cost == 5
    assert cheaper[1].cost == videos[1].cost
    assert first_run_shortfall(cheaper, 5 + videos[1].cost) == 0


def test_default_settings_read_as_a_member_reads_them() -> None:
    text, image = default_videos(load_catalog())
    assert text.settings == "8 s"
    assert image.settings == "5 s, 720p"
