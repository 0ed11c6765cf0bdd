"""Model search: what ModelsLab says about a model, typed, with the key kept out of every text."""

from __future__ import annotations

import logging

import pytest

from tests.fakes.modelslab_server import MODELS, FakeModelsLab
from videobot.modelslab import (
    BadRequest,
    InvalidKey,
    ModelInfo,
    ModelParameter,
    ModelsLabClient,
    ModelsLabError,
    Transient,
    UnknownModel,
)
from videobot.modelslab.model_search import parse_model_info

SECRET = "sk ml/+key?&=#%SECRET"  # characters that change when URL-encoded


async def test_veo_parameters_with_enums_and_defaults(client: ModelsLabClient, fake: FakeModelsLab):
    info = await client.model_search("veo-3.1-fast")

    assert isinstance(info, ModelInfo)
    assert info.model_id == "veo-3.1-fast"
    assert info.name == "Veo 3.1 Fast"
    assert info.endpoints == ("/v7/video-fusion/text-to-video",)
    assert info.choices("duration") == ("4", "6", "8")
    assert info.parameters["duration"].default == "8"
    assert info.choices("aspect_ratio") == ("16:9", "9:16")
    assert info.parameters["generate_audio"] == ModelParameter(
        name="generate_audio", type="boolean", default=True, has_default=True
    )
    assert info.parameters["prompt"].required
    assert info.parameters["negative_prompt"].type == "string|null"
    assert info.parameters["negative_prompt"].has_default
    assert info.parameters["negative_prompt"].default is None
    assert info.choices("prompt") == ()
    assert info.choices("no_such_field") == ()


async def test_wan_i2v_requires_an_image(client):
    info = await client.model_search("wan2.6-i2v")
    assert info.parameters["init_image"].required
    assert info.choices("resolution") == ("1080p", "720p")
    assert info.choices("duration") == ("5", "10")
    assert info.parameters["duration"].default == "5"


@pytest.mark.parametrize("model_id", sorted(MODELS))
async def test_every_model_the_fake_knows_is_described(client, model_id):
    info = await client.model_search(model_id)
    assert info.model_id == model_id
    assert info.parameters["model_id"].choices == (model_id,)


async def test_the_key_goes_in_the_query_string(client, fake):
    await client.model_search("sora-2")
    [call] = fake.model_searches()
    assert call.method == "GET"
    assert call.path == "/api/v6/model-search/sora-2"
    assert call.query == {"key": fake.api_key}


@pytest.mark.parametrize("http200", [False, True])
async def test_unknown_model(client, fake, http200):
    fake.quirks.http200_errors = http200
    with pytest.raises(UnknownModel) as caught:
        await client.model_search("Veo-3.1-fast")  # ids are case-sensitive
    assert isinstance(caught.value, BadRequest)
    assert caught.value.http_status == (200 if http200 else 404)
    assert "Model not found" in str(caught.value)
    assert "model" in caught.value.user_message


async def test_a_model_id_stays_one_path_segment(client, fake):
    with pytest.raises(UnknownModel):
        await client.model_search("../wallet_balance")
    assert fake.model_searches()[0].path == "/api/v6/model-search/../wallet_balance"


async def test_empty_model_id_is_a_programming_error(client, fake):
    with pytest.raises(ValueError, match="empty"):
        await client.model_search("  ")
    assert fake.requests == []


async def test_wrong_key(fake, session):
    client = ModelsLabClient(session, api_key="wrong", base_url=fake.base_url)
    with pytest.raises(InvalidKey):
        await client.model_search("veo-3.1")


async def test_key_in_the_query_never_reaches_errors_or_logs(session, caplog):
    caplog.set_level(logging.DEBUG)
    async with FakeModelsLab(api_key=SECRET) as fake:
        client = ModelsLabClient(session, api_key=SECRET, base_url=fake.base_url, request_timeout=1.0)
        assert (await client.model_search("veo-3.1")).name == "Veo 3.1"
        assert fake.model_searches()[0].query == {"key": SECRET}  # it really was on the wire
        wrong = ModelsLabClient(session, api_key=SECRET + "x", base_url=fake.base_url)
        errors: list[ModelsLabError] = []
        for call in (wrong.model_search("veo-3.1"), client.model_search("nope")):
            with pytest.raises(ModelsLabError) as caught:
                await call
            errors.append(caught.value)
    # The server is gone now: the connection error names the URL, query and all, in aiohttp's text.
    with pytest.raises(Transient) as gone:
        await client.model_search("veo-3.1")
    errors.append(gone.value)
    from urllib.parse import quote, quote_plus

    forms = {SECRET, quote(SECRET, safe=""), quote_plus(SECRET)}
    for error in errors:
        for text in (str(error), repr(error), error.user_message):
            for form in forms:
                assert form not in text
    for form in forms:
        assert form not in caplog.text


def test_scrub_covers_the_encoded_forms(session):
    client = ModelsLabClient(session, api_key=SECRET, base_url="http://127.0.0.1:9/api")
    from urllib.parse import quote, quote_plus

    from yarl import URL

    url = str(URL("http://127.0.0.1:9/api/v6/model-search/x").with_query(key=SECRET))
    for text in (SECRET, quote(SECRET, safe=""), quote_plus(SECRET), url):
        assert "SECRET" not in client._scrub(f"failed: {text}")


# -- parse_model_info on shapes the fake does not send ---------------------------------------------


def test_top_level_parameters_schema():
    body = {
        "model_id": "m",
        "parameters": {
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string"},
                "steps": {"type": "integer", "minimum": 1, "maximum": 50},
            },
        },
    }
    info = parse_model_info(body, "m")
    assert info is not None
    assert info.parameters["prompt"].required
    assert (info.parameters["steps"].minimum, info.parameters["steps"].maximum) == (1.0, 50.0)


def test_endpoints_as_an_object_merge_and_required_wins():
    body = {
        "data": [
            {"model_id": "other"},
            {
                "model_id": "m",
                "model_name": "M",
                "endpoints": {
                    "text-to-video": {"parameters": {"properties": {"duration": {"enum": [5, 10, 5, [1]]}}}},
                    "image-to-video": {
                        "parameters": {"required": ["duration"], "properties": {"duration": {"enum": [6]}}}
                    },
                    "broken": "nope",
                },
            },
        ]
    }
    info = parse_model_info(body, "m")
    assert info is not None
    assert info.name == "M"
    assert info.endpoints == ("text-to-video", "image-to-video")
    assert info.parameters["duration"].choices == (5, 10)  # first endpoint wins, duplicates dropped
    assert info.parameters["duration"].required


@pytest.mark.parametrize("body", [{}, {"data": None}, {"data": []}, {"data": "x"}, {"data": {"foo": 1}}])
def test_no_model(body):
    assert parse_model_info(body, "m") is None


async def test_an_answer_without_a_model_is_transient(client, fake, monkeypatch):
    monkeypatch.setitem(MODELS, "empty-model", MODELS["veo-3.1"])
    import tests.fakes.modelslab_server as server

    monkeypatch.setattr(server, "_model_description", lambda model_id, spec: None)
    with pytest.raises(Transient, match="without a model"):
        await client.model_search("empty-model")
