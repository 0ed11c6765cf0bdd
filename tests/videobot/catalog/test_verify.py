"""Checking the catalog against ModelsLab's model search (``VERIFY_CATALOG=1``): a warning per
mismatch, never an error, through the real client against the fake ModelsLab's model search."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.fakes.modelslab_server import MODELS, FakeModelsLab
from videobot.catalog import load_catalog
from videobot.catalog.verify import lookup_with, mismatches, verify_catalog
from videobot.modelslab import ModelsLabClient
from videobot.modelslab.model_search import ModelInfo, ModelParameter

KEY = "verify-modelslab-key"


def info(model_id: str, **choices: tuple[str, ...]) -> ModelInfo:
    fields = {"prompt": (), "negative_prompt": (), "generate_audio": (), "enhance_prompt": (), **choices}
    return ModelInfo(model_id, None, parameters={n: ModelParameter(n, choices=c) for n, c in fields.items()})


@pytest.fixture
async def client() -> AsyncIterator[tuple[FakeModelsLab, ModelsLabClient]]:
    fake = FakeModelsLab(api_key=KEY)
    await fake.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield fake, ModelsLabClient(http, api_key=KEY, base_url=fake.base_url)
    finally:
        await fake.close()


def test_mismatches_name_the_model_and_the_option() -> None:
    catalog = load_catalog()
    veo = catalog.get("veo-3.1-fast")
    wan = catalog.get("wan2.6-i2v")
    same = info(veo.id, duration=("4", "6", "8"), aspect_ratio=("16:9", "9:16"))
    assert mismatches(veo, same) == []
    only_720 = info(wan.id, duration=("5", "10"), resolution=("720p",), init_image=(), init_audio=())
    assert mismatches(wan, only_720) == [
        "model wan2.6-i2v: the catalog offers resolution 1080p, which ModelsLab does not list (it lists 720p)"
    ]
    assert mismatches(veo, None) == [
        "model veo-3.1-fast: ModelsLab's model search does not know this model id"
    ]
    no_audio = info(veo.id, duration=("4", "6", "8"), aspect_ratio=("16:9", "9:16"))
    del no_audio.parameters["generate_audio"]  # type: ignore[attr-defined]
    assert mismatches(veo, no_audio) == [
        "model veo-3.1-fast: the catalog sends generate_audio but ModelsLab lists no such field"
    ]
    assert mismatches(veo, ModelInfo(veo.id, None)) == []  # found, nothing readable: no claim


async def test_verify_asks_about_every_model_and_warns_per_mismatch(
    client: tuple[FakeModelsLab, ModelsLabClient], caplog: pytest.LogCaptureFixture
) -> None:
    fake, modelslab = client
    catalog = load_catalog()
    with caplog.at_level(logging.WARNING, logger="videobot.catalog.verify"):
        problems = await verify_catalog(catalog, lookup_with(modelslab.model_search))
    assert [r.query.get("model_id") or r.path.rsplit("/", 1)[-1] for r in fake.model_searches()] == [
        m.id for m in catalog.models()
    ]
    for model in catalog.models():
        if model.id not in MODELS:
            assert f"model {model.id}: ModelsLab's model search does not know this model id" in problems
    assert len(caplog.records) == len(problems)
    assert KEY not in caplog.text


async def test_a_model_search_that_fails_is_a_warning_and_start_goes_on(
    client: tuple[FakeModelsLab, ModelsLabClient], caplog: pytest.LogCaptureFixture
) -> None:
    fake, modelslab = client
    await fake.close()  # nothing answers any more
    with caplog.at_level(logging.WARNING, logger="videobot.catalog.verify"):
        problems = await verify_catalog(load_catalog(), lookup_with(modelslab.model_search))
    assert problems == []
    assert "could not ask ModelsLab about veo-3.1-fast" in caplog.text
    assert KEY not in caplog.text
