"""The packaged catalog's facts and prices, and the Catalog API."""

import ast
import dataclasses
import itertools
import re
from pathlib import Path

import pytest

import videobot.catalog
from videobot.catalog import (
    PACKAGED_CATALOG,
    Catalog,
    InvalidRequest,
    ModelSpec,
    UnknownModel,
    load_catalog,
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


# What docs/modelslab-api.md and the brief say about each model (our choices marked "ours" in models.toml):
# id -> (kind, durations, default duration, aspect ratios, default ratio, resolutions, default resolution,
#        accepted optional fields, bool defaults)
EXPECTED_MODELS = {
    "veo-3.1-fast": (
        "text",
        (4, 6, 8),
        8,
        ("16:9", "9:16"),
        "16:9",
        (),
        None,
        {"generate_audio", "negative_prompt", "enhance_prompt"},
        {"generate_audio": True, "enhance_prompt": True},
    ),
    "veo-3.1": (
        "text",
        (4, 6, 8),
        8,
        ("16:9", "9:16"),
        "16:9",
        (),
        None,
        {"generate_audio", "negative_prompt", "enhance_prompt"},
        {"generate_audio": True, "enhance_prompt": True},
    ),
    "wan2.6-t2v": ("text", (5, 10), 5, (), None, ("720p",), "720p", {"init_audio"}, {}),
    "sora-2": ("text", (4, 8, 12), 4, ("16:9", "9:16"), "16:9", (), None, set(), {}),
    "kling-v2-5-turbo-t2v": ("text", (5, 10), 5, ("16:9", "9:16", "1:1"), "16:9", (), None, set(), {}),
    "wan2.6-i2v": ("image", (5, 10), 5, (), None, ("720p", "1080p"), "720p", {"init_audio"}, {}),
    "wan2.6-i2v-flash": ("image", (5, 10), 5, (), None, ("720p", "1080p"), "720p", {"init_audio"}, {}),
    "Hailuo-2.3-i2v": ("image", (6, 10), 6, (), None, (), None, set(), {}),
}


def all_combinations(model: ModelSpec) -> list[tuple[int, str | None]]:
    return list(itertools.product(model.durations, model.resolutions or (None,)))


# ------------------------------------------------------------------------------------ the packaged data


def test_packaged_catalog_has_exactly_the_expected_models(catalog: Catalog) -> None:
    assert sorted(model.id for model in catalog.models()) == sorted(EXPECTED_MODELS)


@pytest.mark.parametrize("model_id", sorted(EXPECTED_MODELS))
def test_model_facts_match_the_api_notes(catalog: Catalog, model_id: str) -> None:
    kind, durations, default_duration, ratios, default_ratio, resolutions, default_res, accepts, bools = (
        EXPECTED_MODELS[model_id]
    )
    model = catalog.get(model_id)
    assert model.id == model_id
    assert model.kind == kind
    assert model.endpoint == {"text": "text-to-video", "image": "image-to-video"}[kind]
    assert model.durations == durations
    assert model.default_duration == default_duration
    assert model.aspect_ratios == ratios
    assert model.default_aspect_ratio == default_ratio
    assert model.resolutions == resolutions
    assert model.default_resolution == default_res
    assert model.accepts == frozenset(accepts)
    assert dict(model.bool_defaults) == bools
    assert (model.max_negative_prompt_length is not None) == ("negative_prompt" in accepts)


@pytest.mark.parametrize("model_id", sorted(EXPECTED_MODELS))
def test_defaults_are_allowed_values_and_texts_fit_discord(catalog: Catalog, model_id: str) -> None:
    model = catalog.get(model_id)
    assert model.default_duration in model.durations
    if model.aspect_ratios:
        assert model.default_aspect_ratio in model.aspect_ratios
    else:
        assert model.default_aspect_ratio is None
    if model.resolutions:
        assert model.default_resolution in model.resolutions
    else:
        assert model.default_resolution is None
    assert set(model.bool_defaults) == model.accepts & {"generate_audio", "enhance_prompt"}
    assert 0 < len(model.label) <= 100
    assert 0 < len(model.description) <= 100
    assert model.max_prompt_length > 0


@pytest.mark.parametrize("model_id", sorted(EXPECTED_MODELS))
def test_every_valid_combination_has_a_positive_integer_price(catalog: Catalog, model_id: str) -> None:
    model = catalog.get(model_id)
    combinations = all_combinations(model)
    assert set(model.prices) == set(combinations)
    for duration, resolution in combinations:
        price = model.price(duration, resolution)
        assert type(price) is int
        assert price > 0


@pytest.mark.parametrize("model_id", sorted(EXPECTED_MODELS))
def test_longer_and_sharper_videos_cost_more(catalog: Catalog, model_id: str) -> None:
    model = catalog.get(model_id)
    for resolution in model.resolutions or (None,):
        prices = [model.price(duration, resolution) for duration in model.durations]
        assert prices == sorted(prices)
        assert len(set(prices)) == len(prices), f"{model_id} at {resolution}: equal prices for longer videos"
    by_height = sorted(model.resolutions, key=lambda resolution: int(resolution.removesuffix("p")))
    for duration in model.durations:
        prices = [model.price(duration, resolution) for resolution in by_height]
        assert prices == sorted(prices)
        assert len(set(prices)) == len(prices)


@pytest.mark.parametrize(("full", "fast"), [("veo-3.1", "veo-3.1-fast"), ("wan2.6-i2v", "wan2.6-i2v-flash")])
def test_the_full_model_costs_more_than_its_fast_variant(catalog: Catalog, full: str, fast: str) -> None:
    full_model, fast_model = catalog.get(full), catalog.get(fast)
    assert all_combinations(full_model) == all_combinations(fast_model)
    for duration, resolution in all_combinations(full_model):
        assert full_model.price(duration, resolution) > fast_model.price(duration, resolution)


def test_models_toml_says_where_each_model_comes_from() -> None:
    text = PACKAGED_CATALOG.read_text(encoding="utf-8")
    for model_id in EXPECTED_MODELS:
        table = text.split(f'[models."{model_id}"]\n', 1)[1]
        assert re.match(r"# \[(notes|ours)\]", table), f"{model_id}: first line should cite its source"


# --------------------------------------------------------------------------------------------- the API


def test_default_models(catalog: Catalog) -> None:
    assert catalog.default_model("text").id == "veo-3.1-fast"
    assert catalog.default_model("image").id == "wan2.6-i2v"
    with pytest.raises(ValueError, match="kind"):
        catalog.default_model("video")


def test_models_filters_by_kind_in_file_order(catalog: Catalog) -> None:
    assert [model.id for model in catalog.models("text")] == [
        "veo-3.1-fast",
        "veo-3.1",
        "wan2.6-t2v",
        "sora-2",
        "kling-v2-5-turbo-t2v",
    ]
    assert [model.id for model in catalog.models("image")] == [
        "wan2.6-i2v",
        "wan2.6-i2v-flash",
        "Hailuo-2.3-i2v",
    ]
    assert len(catalog.models()) == len(EXPECTED_MODELS)
    with pytest.raises(ValueError, match="kind"):
        catalog.models("audio")


def test_get_unknown_model_lists_the_ids_of_that_kind(catalog: Catalog) -> None:
    with pytest.raises(UnknownModel) as caught:
        catalog.get("veo-4", "text")
    message = str(caught.value)
    assert isinstance(caught.value, InvalidRequest)
    assert caught.value.model_id == "veo-4"
    assert "There is no model called 'veo-4'" in message
    assert "Text-to-video models: veo-3.1-fast, veo-3.1, wan2.6-t2v, sora-2, kling-v2-5-turbo-t2v." in message
    assert "wan2.6-i2v" not in message


def test_get_unknown_model_without_a_kind_lists_every_id(catalog: Catalog) -> None:
    with pytest.raises(UnknownModel) as caught:
        catalog.get("nope")
    message = str(caught.value)
    assert "Text-to-video models: veo-3.1-fast" in message
    assert "image-to-video models: wan2.6-i2v, wan2.6-i2v-flash, Hailuo-2.3-i2v" in message


def test_get_is_case_sensitive_and_suggests_the_right_spelling(catalog: Catalog) -> None:
    with pytest.raises(UnknownModel, match=re.escape("case-sensitive: did you mean Hailuo-2.3-i2v?")):
        catalog.get("hailuo-2.3-i2v", "image")
    assert "hailuo-2.3-i2v" not in catalog
    assert "Hailuo-2.3-i2v" in catalog


@pytest.mark.parametrize(
    ("model_id", "kind", "message"),
    [
        ("wan2.6-i2v", "text", "wan2.6-i2v makes videos from an image: use /video image"),
        ("veo-3.1", "image", "veo-3.1 makes videos from text: use /video text"),
    ],
)
def test_get_a_model_of_the_other_kind_names_the_right_command(
    catalog: Catalog, model_id: str, kind: str, message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        catalog.get(model_id, kind)
    assert str(caught.value) == message
    assert not isinstance(caught.value, UnknownModel)


@pytest.mark.parametrize(
    ("model_id", "duration", "resolution", "message"),
    [
        ("veo-3.1-fast", 5, None, "veo-3.1-fast takes 4, 6 or 8 seconds"),
        ("veo-3.1-fast", 8, "720p", "veo-3.1-fast has no resolution option"),
        ("wan2.6-i2v", 5, None, "wan2.6-i2v takes resolution 720p or 1080p"),
        ("wan2.6-i2v", 5, "4k", "wan2.6-i2v takes resolution 720p or 1080p"),
        ("wan2.6-t2v", 6, "1080p", "wan2.6-t2v takes 5 or 10 seconds\nwan2.6-t2v takes resolution 720p"),
    ],
)
def test_price_of_a_combination_not_offered(
    catalog: Catalog, model_id: str, duration: int, resolution: str | None, message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        catalog.get(model_id).price(duration, resolution)
    assert str(caught.value) == message


def test_model_spec_is_immutable_and_hashable(catalog: Catalog) -> None:
    model = catalog.get("veo-3.1-fast")
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.default_duration = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        model.prices[(8, None)] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        model.bool_defaults["generate_audio"] = False  # type: ignore[index]
    assert {model, catalog.get("veo-3.1-fast")} == {model}


def test_model_choices_put_the_default_first(catalog: Catalog) -> None:
    assert catalog.model_choices("text")[0] == ("Veo 3.1 Fast", "veo-3.1-fast")
    assert catalog.model_choices("image")[0] == ("Wan 2.6", "wan2.6-i2v")
    assert sorted(value for _, value in catalog.model_choices("image")) == sorted(
        model.id for model in catalog.models("image")
    )


def test_duration_choices_for_the_default_text_model(catalog: Catalog) -> None:
    assert catalog.duration_choices("text", None) == [("4 s", 4), ("6 s", 6), ("8 s (default)", 8)]
    assert catalog.duration_choices("text", "sora-2") == [("4 s (default)", 4), ("8 s", 8), ("12 s", 12)]


@pytest.mark.parametrize("model_id", sorted(EXPECTED_MODELS))
def test_choices_follow_the_picked_model(catalog: Catalog, model_id: str) -> None:
    model = catalog.get(model_id)
    durations = catalog.duration_choices(model.kind, model_id)
    ratios = catalog.aspect_ratio_choices(model.kind, model_id)
    resolutions = catalog.resolution_choices(model.kind, model_id)
    assert [value for _, value in durations] == list(model.durations)
    assert [value for _, value in ratios] == list(model.aspect_ratios)
    assert [value for _, value in resolutions] == list(model.resolutions)
    for choices, default in (
        (durations, model.default_duration),
        (ratios, model.default_aspect_ratio),
        (resolutions, model.default_resolution),
    ):
        marked = [value for name, value in choices if name.endswith("(default)")]
        assert marked == ([] if default is None else [default])
        assert all(0 < len(name) <= 100 for name, _ in choices)


def test_aspect_ratio_and_resolution_choice_names(catalog: Catalog) -> None:
    assert catalog.aspect_ratio_choices("text", "kling-v2-5-turbo-t2v") == [
        ("16:9 landscape (default)", "16:9"),
        ("9:16 portrait", "9:16"),
        ("1:1 square", "1:1"),
    ]
    assert catalog.aspect_ratio_choices("text", "wan2.6-t2v") == []
    assert catalog.resolution_choices("image", None) == [("720p (default)", "720p"), ("1080p", "1080p")]
    assert catalog.resolution_choices("image", "Hailuo-2.3-i2v") == []


@pytest.mark.parametrize("typed", ["veo-", "not a model", "wan2.6-i2v"])
def test_choices_fall_back_to_the_default_while_the_model_is_unknown_or_of_the_other_kind(
    catalog: Catalog, typed: str
) -> None:
    assert catalog.duration_choices("text", typed) == catalog.duration_choices("text", None)
    assert catalog.aspect_ratio_choices("text", typed) == [
        ("16:9 landscape (default)", "16:9"),
        ("9:16 portrait", "9:16"),
    ]


def test_price_list_covers_every_combination(catalog: Catalog) -> None:
    lines = catalog.price_list()
    expected = {
        (model.id, duration, resolution, model.price(duration, resolution))
        for model in catalog.models()
        for duration, resolution in all_combinations(model)
    }
    assert {(line.model_id, line.duration, line.resolution, line.credits) for line in lines} == expected
    assert len(lines) == len(expected)
    assert not any(line.overridden for line in lines)
    first = lines[0]
    assert (first.model_id, first.label, first.kind, first.settings) == (
        "veo-3.1-fast",
        "Veo 3.1 Fast",
        "text",
        "4 s",
    )
    wan = next(line for line in lines if line.model_id == "wan2.6-i2v" and line.resolution == "1080p")
    assert wan.settings == f"{wan.duration} s, 1080p"


def test_price_list_applies_a_flat_override_per_model(catalog: Catalog) -> None:
    lines = catalog.price_list({"sora-2": 7, "retired-model": 3, "wan2.6-i2v": 0})
    sora = [line for line in lines if line.model_id == "sora-2"]
    assert [(line.credits, line.overridden) for line in sora] == [(7, True)] * 3
    assert {line.credits for line in lines if line.model_id == "wan2.6-i2v"} == {0}
    veo = [line for line in lines if line.model_id == "veo-3.1-fast"]
    assert [(line.credits, line.overridden) for line in veo] == [(40, False), (60, False), (80, False)]
    assert not any(line.model_id == "retired-model" for line in lines)


@pytest.mark.parametrize("bad", [-1, True, 2.5])
def test_price_list_rejects_a_bad_override(catalog: Catalog, bad: object) -> None:
    with pytest.raises(ValueError, match="sora-2"):
        catalog.price_list({"sora-2": bad})  # type: ignore[dict-item]


def test_packaged_catalog_is_found_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Path(videobot.catalog.catalog.__file__).parent / "models.toml" == PACKAGED_CATALOG
    assert PACKAGED_CATALOG.is_absolute()
    assert load_catalog().get("veo-3.1-fast").default_duration == 8


def test_the_catalog_package_never_imports_discord() -> None:
    package = Path(videobot.catalog.__file__).parent
    sources = sorted(package.glob("*.py"))
    assert len(sources) >= 3
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(name.split(".")[0] == "discord" for name in names), source
