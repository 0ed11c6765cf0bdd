"""Turning a member's choices into a validated, priced request, its provider payload and its stored record."""

import itertools
import json
import re
from pathlib import Path

import pytest

from videobot.catalog import (
    PACKAGED_CATALOG,
    Catalog,
    InvalidRequest,
    UnknownModel,
    ValidatedVideo,
    VideoChoices,
    load_catalog,
    validate_choices,
)

IMAGE_URL = "https://cdn.example/start.png"
AUDIO_URL = "https://cdn.example/track.mp3"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def text(prompt: str = "a fox in the snow", **options: object) -> VideoChoices:
    return VideoChoices(kind="text", prompt=prompt, **options)  # type: ignore[arg-type]


def image(prompt: str = "the fox turns its head", **options: object) -> VideoChoices:
    options.setdefault("has_image", True)
    return VideoChoices(kind="image", prompt=prompt, **options)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- defaults and price


def test_text_defaults(catalog: Catalog) -> None:
    video = validate_choices(catalog, text())
    assert video.model.id == "veo-3.1-fast"
    assert (video.duration, video.aspect_ratio, video.resolution) == (8, "16:9", None)
    assert (video.generate_audio, video.enhance_prompt, video.negative_prompt) == (True, True, None)
    assert video.with_audio is False
    assert video.cost == catalog.get("veo-3.1-fast").price(8, None)


def test_image_defaults(catalog: Catalog) -> None:
    video = validate_choices(catalog, image())
    assert video.model.id == "wan2.6-i2v"
    assert (video.duration, video.aspect_ratio, video.resolution) == (5, None, "720p")
    assert (video.generate_audio, video.enhance_prompt, video.negative_prompt) == (None, None, None)
    assert video.cost == catalog.get("wan2.6-i2v").price(5, "720p")


@pytest.mark.parametrize("model_id", [model.id for model in load_catalog().models()])
def test_each_model_fills_its_own_defaults(catalog: Catalog, model_id: str) -> None:
    model = catalog.get(model_id)
    maker = text if model.kind == "text" else image
    video = validate_choices(catalog, maker(model_id=model_id))
    assert video.model is model
    assert video.duration == model.default_duration
    assert video.aspect_ratio == model.default_aspect_ratio
    assert video.resolution == model.default_resolution
    assert video.generate_audio == model.bool_defaults.get("generate_audio")
    assert video.enhance_prompt == model.bool_defaults.get("enhance_prompt")
    assert video.cost == model.price(model.default_duration, model.default_resolution)


@pytest.mark.parametrize("model_id", [model.id for model in load_catalog().models()])
def test_every_offered_combination_validates_and_is_priced_from_the_table(
    catalog: Catalog, model_id: str
) -> None:
    model = catalog.get(model_id)
    maker = text if model.kind == "text" else image
    combinations = list(
        itertools.product(model.durations, model.aspect_ratios or (None,), model.resolutions or (None,))
    )
    for duration, ratio, resolution in combinations:
        video = validate_choices(
            catalog, maker(model_id=model_id, duration=duration, aspect_ratio=ratio, resolution=resolution)
        )
        assert (video.duration, video.aspect_ratio, video.resolution) == (duration, ratio, resolution)
        assert video.cost == model.prices[(duration, resolution)] > 0


def test_price_override_replaces_the_table_price(catalog: Catalog) -> None:
    assert validate_choices(catalog, text(duration=4), price_override=3).cost == 3
    assert validate_choices(catalog, image(), price_override=0).cost == 0


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_a_bad_price_override_is_a_programming_error(catalog: Catalog, bad: object) -> None:
    with pytest.raises(ValueError, match="price_override"):
        validate_choices(catalog, text(), price_override=bad)  # type: ignore[arg-type]


def test_an_unknown_kind_is_a_programming_error(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="kind"):
        validate_choices(catalog, VideoChoices(kind="audio", prompt="x"))  # type: ignore[arg-type]


def test_the_prompt_is_trimmed_but_its_inner_whitespace_kept(catalog: Catalog) -> None:
    video = validate_choices(catalog, text("  a fox,\n\n  then   snow \t "))
    assert video.prompt == "a fox,\n\n  then   snow"


def test_the_member_can_turn_switches_off(catalog: Catalog) -> None:
    video = validate_choices(catalog, text(model_id="veo-3.1", generate_audio=False, enhance_prompt=False))
    assert (video.generate_audio, video.enhance_prompt) == (False, False)


def test_a_negative_prompt_is_trimmed_and_a_blank_one_dropped(catalog: Catalog) -> None:
    assert validate_choices(catalog, text(negative_prompt="  blur, text  ")).negative_prompt == "blur, text"
    assert validate_choices(catalog, text(negative_prompt="   ")).negative_prompt is None
    # Blank counts as not given, so it does not trip the "no negative_prompt option" rule either.
    assert validate_choices(catalog, text(model_id="sora-2", negative_prompt=" ")).negative_prompt is None


def test_prompts_at_the_limit_pass(catalog: Catalog) -> None:
    model = catalog.get("veo-3.1-fast")
    assert model.max_negative_prompt_length is not None
    video = validate_choices(
        catalog,
        text(
            " " + "p" * model.max_prompt_length + " ",
            negative_prompt="n" * model.max_negative_prompt_length,
        ),
    )
    assert len(video.prompt) == model.max_prompt_length


def test_audio_is_accepted_by_audio_models(catalog: Catalog) -> None:
    assert validate_choices(catalog, text(model_id="wan2.6-t2v", has_audio=True)).with_audio is True
    assert validate_choices(catalog, image(has_audio=True)).with_audio is True


# --------------------------------------------------------------------------------------------- refusals

REFUSALS = {
    "unknown text model": (
        text(model_id="veo-4"),
        "There is no model called 'veo-4'. Text-to-video models: veo-3.1-fast, veo-3.1, wan2.6-t2v, sora-2, "
        "kling-v2-5-turbo-t2v.",
    ),
    "unknown image model": (
        image(model_id="wan3"),
        "There is no model called 'wan3'. Image-to-video models: wan2.6-i2v, wan2.6-i2v-flash, "
        "Hailuo-2.3-i2v.",
    ),
    "image model in /video text": (
        text(model_id="wan2.6-i2v"),
        "wan2.6-i2v makes videos from an image: use /video image",
    ),
    "text model in /video image": (
        image(model_id="veo-3.1"),
        "veo-3.1 makes videos from text: use /video text",
    ),
    "veo duration": (text(duration=5), "veo-3.1-fast takes 4, 6 or 8 seconds"),
    "sora duration": (text(model_id="sora-2", duration=6), "sora-2 takes 4, 8 or 12 seconds"),
    "wan duration": (image(duration=8), "wan2.6-i2v takes 5 or 10 seconds"),
    "hailuo duration": (image(model_id="Hailuo-2.3-i2v", duration=5), "Hailuo-2.3-i2v takes 6 or 10 seconds"),
    "aspect ratio not offered": (text(aspect_ratio="1:1"), "veo-3.1-fast takes aspect ratio 16:9 or 9:16"),
    "aspect ratio to a model without one": (
        text(model_id="wan2.6-t2v", aspect_ratio="16:9"),
        "wan2.6-t2v has no aspect ratio option",
    ),
    "resolution not offered": (
        text(model_id="wan2.6-t2v", resolution="1080p"),
        "wan2.6-t2v takes resolution 720p",
    ),
    "image resolution not offered": (image(resolution="480p"), "wan2.6-i2v takes resolution 720p or 1080p"),
    "resolution to a model without one": (text(resolution="720p"), "veo-3.1-fast has no resolution option"),
    "resolution to hailuo": (
        image(model_id="Hailuo-2.3-i2v", resolution="768p"),
        "Hailuo-2.3-i2v has no resolution option",
    ),
    "generate_audio not taken": (
        text(model_id="wan2.6-t2v", generate_audio=True),
        "wan2.6-t2v has no generate_audio option; models that have it: veo-3.1-fast, veo-3.1",
    ),
    "generate_audio off is still an option given": (
        text(model_id="kling-v2-5-turbo-t2v", generate_audio=False),
        "kling-v2-5-turbo-t2v has no generate_audio option; models that have it: veo-3.1-fast, veo-3.1",
    ),
    "enhance_prompt not taken": (
        text(model_id="sora-2", enhance_prompt=True),
        "sora-2 has no enhance_prompt option; models that have it: veo-3.1-fast, veo-3.1",
    ),
    "negative_prompt not taken": (
        text(model_id="kling-v2-5-turbo-t2v", negative_prompt="blur"),
        "kling-v2-5-turbo-t2v has no negative_prompt option; models that have it: veo-3.1-fast, veo-3.1",
    ),
    "switch on an image model, where none has it": (
        image(enhance_prompt=True),
        "wan2.6-i2v has no enhance_prompt option",
    ),
    "audio to a text model without init_audio": (
        text(has_audio=True),
        "veo-3.1-fast does not take an audio track; models that do: wan2.6-t2v",
    ),
    "audio to an image model without init_audio": (
        image(model_id="Hailuo-2.3-i2v", has_audio=True),
        "Hailuo-2.3-i2v does not take an audio track; models that do: wan2.6-i2v, wan2.6-i2v-flash",
    ),
    "image model without an image": (
        image(has_image=False),
        "wan2.6-i2v animates an image: attach one as the image option.",
    ),
    "image given to a text model": (
        text(has_image=True),
        "veo-3.1-fast makes videos from text and takes no image: use /video image.",
    ),
    "empty prompt": (text(""), "The prompt is empty: describe the video you want."),
    "whitespace prompt": (image(" \n\t "), "The prompt is empty: describe the video you want."),
    "prompt too long": (
        text("x" * 2001),
        "The prompt is 2,001 characters long; veo-3.1-fast takes at most 2,000.",
    ),
    "wan prompt too long": (
        image("y" * 1600),
        "The prompt is 1,600 characters long; wan2.6-i2v takes at most 1,500.",
    ),
    "negative prompt too long": (
        text(negative_prompt="n" * 501),
        "The negative prompt is 501 characters long; veo-3.1-fast takes at most 500.",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_invalid_combination_gets_its_own_message(catalog: Catalog, case: str) -> None:
    choices, message = REFUSALS[case]
    with pytest.raises(InvalidRequest) as caught:
        validate_choices(catalog, choices)
    assert str(caught.value) == message


def test_the_limits_in_the_messages_come_from_the_catalog(catalog: Catalog) -> None:
    # The refusal table above spells out numbers; this ties them to the data so a changed limit fails here.
    veo, wan = catalog.get("veo-3.1-fast"), catalog.get("wan2.6-i2v")
    assert (veo.max_prompt_length, veo.max_negative_prompt_length, wan.max_prompt_length) == (2000, 500, 1500)


def test_an_unknown_model_is_an_unknown_model_error(catalog: Catalog) -> None:
    with pytest.raises(UnknownModel):
        validate_choices(catalog, text(model_id="VEO-3.1-FAST"))


def test_every_problem_is_reported_at_once(catalog: Catalog) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_choices(
            catalog, text("  ", duration=10, aspect_ratio="1:1", resolution="720p", has_audio=True)
        )
    assert caught.value.problems == (
        "The prompt is empty: describe the video you want.",
        "veo-3.1-fast takes 4, 6 or 8 seconds",
        "veo-3.1-fast takes aspect ratio 16:9 or 9:16",
        "veo-3.1-fast has no resolution option",
        "veo-3.1-fast does not take an audio track; models that do: wan2.6-t2v",
    )
    assert str(caught.value) == "\n".join(caught.value.problems)


# ------------------------------------------------------------------------------------------- payloads

# (choices, image URL, audio URL, the exact JSON body). Every model in the catalog appears at least once.
PAYLOADS: dict[str, tuple[VideoChoices, str | None, str | None, dict[str, object]]] = {
    "veo-3.1-fast defaults": (
        text(),
        None,
        None,
        {
            "model_id": "veo-3.1-fast",
            "prompt": "a fox in the snow",
            "duration": "8",
            "aspect_ratio": "16:9",
            "generate_audio": True,
            "negative_prompt": None,
            "enhance_prompt": True,
        },
    ),
    "veo-3.1 every option": (
        text(
            model_id="veo-3.1",
            duration=4,
            aspect_ratio="9:16",
            generate_audio=False,
            negative_prompt="blur",
            enhance_prompt=False,
        ),
        None,
        None,
        {
            "model_id": "veo-3.1",
            "prompt": "a fox in the snow",
            "duration": "4",
            "aspect_ratio": "9:16",
            "generate_audio": False,
            "negative_prompt": "blur",
            "enhance_prompt": False,
        },
    ),
    "wan2.6-t2v with audio": (
        text(model_id="wan2.6-t2v", duration=10, has_audio=True),
        None,
        AUDIO_URL,
        {
            "model_id": "wan2.6-t2v",
            "prompt": "a fox in the snow",
            "duration": "10",
            "resolution": "720p",
            "init_audio": AUDIO_URL,
        },
    ),
    "wan2.6-t2v without audio": (
        text(model_id="wan2.6-t2v"),
        None,
        None,
        {"model_id": "wan2.6-t2v", "prompt": "a fox in the snow", "duration": "5", "resolution": "720p"},
    ),
    "sora-2": (
        text(model_id="sora-2", duration=12, aspect_ratio="9:16"),
        None,
        None,
        {"model_id": "sora-2", "prompt": "a fox in the snow", "duration": "12", "aspect_ratio": "9:16"},
    ),
    "kling": (
        text(model_id="kling-v2-5-turbo-t2v", aspect_ratio="1:1"),
        None,
        None,
        {
            "model_id": "kling-v2-5-turbo-t2v",
            "prompt": "a fox in the snow",
            "duration": "5",
            "aspect_ratio": "1:1",
        },
    ),
    "wan2.6-i2v with audio at 1080p": (
        image(duration=10, resolution="1080p", has_audio=True),
        IMAGE_URL,
        AUDIO_URL,
        {
            "model_id": "wan2.6-i2v",
            "prompt": "the fox turns its head",
            "duration": "10",
            "resolution": "1080p",
            "init_image": IMAGE_URL,
            "init_audio": AUDIO_URL,
        },
    ),
    "wan2.6-i2v-flash": (
        image(model_id="wan2.6-i2v-flash"),
        IMAGE_URL,
        None,
        {
            "model_id": "wan2.6-i2v-flash",
            "prompt": "the fox turns its head",
            "duration": "5",
            "resolution": "720p",
            "init_image": IMAGE_URL,
        },
    ),
    "Hailuo": (
        image(model_id="Hailuo-2.3-i2v", duration=10),
        IMAGE_URL,
        None,
        {
            "model_id": "Hailuo-2.3-i2v",
            "prompt": "the fox turns its head",
            "duration": "10",
            "init_image": IMAGE_URL,
        },
    ),
}


def test_every_model_has_a_payload_case(catalog: Catalog) -> None:
    covered = {expected["model_id"] for _, _, _, expected in PAYLOADS.values()}
    assert covered == {model.id for model in catalog.models()}


@pytest.mark.parametrize("case", sorted(PAYLOADS))
def test_the_payload_holds_exactly_the_fields_the_model_takes(catalog: Catalog, case: str) -> None:
    choices, image_url, audio_url, expected = PAYLOADS[case]
    payload = validate_choices(catalog, choices).provider_payload(
        init_image_url=image_url, init_audio_url=audio_url
    )
    assert payload == expected
    # == would accept 1 for True and an int for "8": the wire types matter to the provider.
    assert type(payload["duration"]) is str
    for switch in ("generate_audio", "enhance_prompt"):
        if switch in payload:
            assert type(payload[switch]) is bool
    assert "key" not in payload
    assert json.loads(json.dumps(payload)) == payload


@pytest.mark.parametrize(
    ("choices", "image_url", "audio_url", "words"),
    [
        (image(), None, None, "init_image_url is required"),
        (text(), IMAGE_URL, None, "takes no init_image_url"),
        (image(has_audio=True), IMAGE_URL, None, "init_audio_url is required"),
        (image(), IMAGE_URL, AUDIO_URL, "init_audio_url must be None"),
    ],
)
def test_the_payload_refuses_urls_that_do_not_match_the_request(
    catalog: Catalog, choices: VideoChoices, image_url: str | None, audio_url: str | None, words: str
) -> None:
    video = validate_choices(catalog, choices)
    with pytest.raises(ValueError, match=words):
        video.provider_payload(init_image_url=image_url, init_audio_url=audio_url)


# -------------------------------------------------------------------------------------------- summary


@pytest.mark.parametrize(
    ("choices", "summary"),
    [
        (
            text(),
            [
                ("Model", "veo-3.1-fast"),
                ("Duration", "8 s"),
                ("Aspect ratio", "16:9"),
                ("Audio", "generated"),
                ("Prompt enhancement", "on"),
            ],
        ),
        (
            text(model_id="veo-3.1", generate_audio=False, enhance_prompt=False, negative_prompt="rain"),
            [
                ("Model", "veo-3.1"),
                ("Duration", "8 s"),
                ("Aspect ratio", "16:9"),
                ("Audio", "none"),
                ("Prompt enhancement", "off"),
                ("Negative prompt", "rain"),
            ],
        ),
        (
            image(duration=10, resolution="1080p", has_audio=True),
            [("Model", "wan2.6-i2v"), ("Duration", "10 s"), ("Resolution", "1080p"), ("Audio", "your track")],
        ),
        (image(model_id="Hailuo-2.3-i2v"), [("Model", "Hailuo-2.3-i2v"), ("Duration", "6 s")]),
    ],
)
def test_settings_summary(catalog: Catalog, choices: VideoChoices, summary: list[tuple[str, str]]) -> None:
    assert validate_choices(catalog, choices).settings_summary() == summary


# --------------------------------------------------------------------------------------------- records

RECORD_CASES = [
    text(),
    text(model_id="veo-3.1", duration=6, aspect_ratio="9:16", generate_audio=False, negative_prompt="fog"),
    text(model_id="wan2.6-t2v", duration=10, has_audio=True),
    text(model_id="sora-2", duration=12),
    text(model_id="kling-v2-5-turbo-t2v", aspect_ratio="1:1"),
    image(resolution="1080p", has_audio=True),
    image(model_id="wan2.6-i2v-flash", duration=10),
    image(model_id="Hailuo-2.3-i2v"),
]


def test_record_cases_cover_every_model(catalog: Catalog) -> None:
    assert {validate_choices(catalog, choices).model.id for choices in RECORD_CASES} == {
        model.id for model in catalog.models()
    }


@pytest.mark.parametrize("choices", RECORD_CASES, ids=lambda choices: choices.model_id or choices.kind)
def test_a_record_round_trips_through_json(catalog: Catalog, choices: VideoChoices) -> None:
    video = validate_choices(catalog, choices)
    stored = json.loads(json.dumps(video.to_record()))
    restored = ValidatedVideo.from_record(catalog, stored)
    assert restored == video
    assert restored.provider_payload(
        init_image_url=IMAGE_URL if video.model.kind == "image" else None,
        init_audio_url=AUDIO_URL if video.with_audio else None,
    ) == video.provider_payload(
        init_image_url=IMAGE_URL if video.model.kind == "image" else None,
        init_audio_url=AUDIO_URL if video.with_audio else None,
    )


def test_a_record_keeps_the_cost_it_was_charged(catalog: Catalog) -> None:
    video = validate_choices(catalog, text(), price_override=0)
    assert ValidatedVideo.from_record(catalog, video.to_record()).cost == 0


def test_to_choices_revalidates_to_the_same_request_at_the_current_price(catalog: Catalog) -> None:
    video = validate_choices(
        catalog, image(model_id="wan2.6-i2v-flash", resolution="1080p"), price_override=1
    )
    again = validate_choices(catalog, video.to_choices())
    assert again.to_record() | {"cost": 1} == video.to_record()
    assert again.cost == catalog.get("wan2.6-i2v-flash").price(5, "1080p")


def test_a_record_is_checked_against_the_current_catalog(catalog: Catalog, tmp_path: Path) -> None:
    record = validate_choices(catalog, text()).to_record()
    # The operator dropped 8 s from veo-3.1-fast since the job ran.
    changed = PACKAGED_CATALOG.read_text(encoding="utf-8")
    for old, new in (
        ("durations = [4, 6, 8]\ndefault_duration = 8", "durations = [4, 6]\ndefault_duration = 6"),
        ('"8s" = 80\n', ""),
    ):
        assert old in changed
        changed = changed.replace(old, new, 1)
    path = tmp_path / "models.toml"
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(InvalidRequest, match=re.escape("veo-3.1-fast takes 4 or 6 seconds")):
        ValidatedVideo.from_record(load_catalog(path), record)


def test_a_record_of_a_removed_model_is_an_unknown_model(catalog: Catalog) -> None:
    record = validate_choices(catalog, text()).to_record() | {"model_id": "veo-2"}
    with pytest.raises(UnknownModel, match="no model called 'veo-2'"):
        ValidatedVideo.from_record(catalog, record)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"version": 99}, "version 99"),
        ({"version": None}, "version None"),
        ({"kind": "audio"}, "kind"),
        ({"duration": "8"}, "duration should be int"),
        ({"duration": True}, "duration should be int"),
        ({"cost": None}, "cost is missing"),
        ({"prompt": 3}, "prompt should be str"),
        ({"generate_audio": "yes"}, "generate_audio should be bool"),
        ({"with_audio": None}, "with_audio is missing"),
    ],
)
def test_a_malformed_record_is_a_value_error(catalog: Catalog, change: dict[str, object], words: str) -> None:
    record = validate_choices(catalog, text()).to_record() | change
    with pytest.raises(ValueError, match=words):
        ValidatedVideo.from_record(catalog, record)
