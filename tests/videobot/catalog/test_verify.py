"""Checking the catalog against ModelsLab's model search (``VERIFY_CATALOG=1``).

The fake ModelsLab has no model-search route yet, so a small loopback server here answers it the way
docs/modelslab-api.md describes: ``GET /v6/model-search/{model_id}?key=...`` with the model's
``parameters`` JSON Schema, 404 for an unknown model, 401 for a wrong key.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from videobot.catalog import load_catalog
from videobot.catalog.verify import mismatches, verify_catalog
from videobot.modelslab import InvalidKey, Transient
from videobot.modelslab.model_search import ModelFacts, search_model

KEY = "verify-modelslab-key"

VEO_FAST = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string"},
        "duration": {"type": "string", "enum": ["4", "6", "8"], "default": "8"},
        "aspect_ratio": {"type": "string", "enum": ["16:9", "9:16"]},
        "generate_audio": {"type": "boolean", "default": True},
        "negative_prompt": {"type": ["string", "null"]},
        "enhance_prompt": {"type": "boolean"},
    },
}
# ModelsLab's Wan page shows only 720p; the catalog also offers 1080p (marked unverified there).
WAN_I2V = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string"},
        "init_image": {"type": "string"},
        "init_audio": {"type": "string"},
        "duration": {"type": "string", "enum": ["5", "10"]},
        "resolution": {"type": "string", "enum": ["720p"]},
    },
}


class ModelSearch:
    """A loopback model-search endpoint; ``models`` maps an id to its schema (or a whole raw answer)."""

    def __init__(self, models: Mapping[str, Any]) -> None:
        self.models = dict(models)
        self.asked: list[str] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def _search(self, request: web.Request) -> web.Response:
        model_id = request.match_info["model_id"]
        self.asked.append(model_id)
        if request.query.get("key") != KEY:
            return web.json_response({"status": "error", "message": "Invalid API key"}, status=401)
        if model_id not in self.models:
            return web.json_response(
                {"status": "error", "message": f"Model not found: {model_id}"}, status=404
            )
        found = self.models[model_id]
        if isinstance(found, web.Response):
            return found
        return web.json_response(
            {"status": "success", "data": {"model_id": model_id, "endpoint": "v7", "parameters": found}}
        )

    async def __aenter__(self) -> ModelSearch:
        app = web.Application()
        app.router.add_get("/api/v6/model-search/{model_id}", self._search)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_search_reads_the_parameters_schema_wherever_it_is(http: aiohttp.ClientSession) -> None:
    nested_as_text = web.json_response(
        {"status": "success", "model": {"schema": {"parameters": '{"a": {}}'}}}
    )
    async with ModelSearch({"veo-3.1-fast": VEO_FAST, "odd": nested_as_text}) as server:
        facts = await search_model(http, base_url=server.base_url, api_key=KEY, model_id="veo-3.1-fast")
        odd = await search_model(http, base_url=server.base_url, api_key=KEY, model_id="odd")
        missing = await search_model(http, base_url=server.base_url, api_key=KEY, model_id="no-such")
        with pytest.raises(InvalidKey) as refused:
            await search_model(http, base_url=server.base_url, api_key="wrong-key-123", model_id="x")
    assert facts.found and facts.fields["duration"]["enum"] == ["4", "6", "8"]
    assert odd.found and set(odd.fields) == {"a"}
    assert missing == ModelFacts("no-such", found=False)
    assert "wrong-key-123" not in str(refused.value)


async def test_an_unreachable_model_search_is_transient_and_never_shows_the_key(
    http: aiohttp.ClientSession,
) -> None:
    async with ModelSearch({}) as server:
        base = server.base_url
    with pytest.raises(Transient) as failed:
        await search_model(http, base_url=base, api_key=KEY, model_id="veo-3.1-fast", within_seconds=5)
    assert KEY not in str(failed.value)


def test_mismatches_name_the_model_and_the_option() -> None:
    catalog = load_catalog()
    veo = catalog.get("veo-3.1-fast")
    wan = catalog.get("wan2.6-i2v")
    assert mismatches(veo, ModelFacts(veo.id, True, VEO_FAST["properties"])) == []  # type: ignore[arg-type]
    assert mismatches(wan, ModelFacts(wan.id, True, WAN_I2V["properties"])) == [  # type: ignore[arg-type]
        "model wan2.6-i2v: the catalog offers resolution 1080p, which ModelsLab does not list (it lists 720p)"
    ]
    assert mismatches(veo, ModelFacts(veo.id, False)) == [
        "model veo-3.1-fast: ModelsLab's model search does not know this model id"
    ]
    without_audio = {k: v for k, v in VEO_FAST["properties"].items() if k != "generate_audio"}  # type: ignore[attr-defined]
    assert mismatches(veo, ModelFacts(veo.id, True, without_audio)) == [
        "model veo-3.1-fast: the catalog sends generate_audio but ModelsLab lists no such field"
    ]
    assert mismatches(veo, ModelFacts(veo.id, True, {})) == []  # found, nothing readable: no claim


async def test_verify_warns_per_mismatch_and_never_raises(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = load_catalog()
    known: dict[str, object] = {"veo-3.1-fast": VEO_FAST, "wan2.6-i2v": WAN_I2V}
    known["sora-2"] = web.Response(status=500, text="<html>oops</html>")
    async with ModelSearch(known) as server:

        async def lookup(model_id: str) -> ModelFacts:
            return await search_model(http, base_url=server.base_url, api_key=KEY, model_id=model_id)

        with caplog.at_level(logging.WARNING, logger="videobot.catalog.verify"):
            problems = await verify_catalog(catalog, lookup)
    assert server.asked == [m.id for m in catalog.models()]
    assert "model wan2.6-i2v: the catalog offers resolution 1080p" in " ".join(problems)
    assert "could not ask ModelsLab about sora-2" in caplog.text
    unknown = [m.id for m in catalog.models() if m.id not in known]
    for model_id in unknown:
        assert f"model {model_id}: ModelsLab's model search does not know this model id" in problems
    assert len(caplog.records) == len(problems) + 1  # one warning per mismatch, one for sora-2
