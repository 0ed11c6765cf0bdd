"""The catalog loader: a valid file loads; a broken one is refused with a message naming the problem."""

import re
from pathlib import Path

import pytest

from videobot.catalog import (
    ENDPOINTS,
    CatalogError,
    load_catalog,
)

VALID = """
[default_models]
text = "t"
image = "i"

[models.t]
kind = "text"
label = "T"
description = "A text model"
durations = [4, 8]
default_duration = 8
aspect_ratios = ["16:9", "9:16"]
default_aspect_ratio = "16:9"
accepts = ["generate_audio", "negative_prompt"]
bool_defaults = { generate_audio = true }
max_prompt_length = 100
max_negative_prompt_length = 50

[models.t.prices]
"4s" = 10
"8s" = 20

[models.i]
kind = "image"
label = "I"
description = "An image model"
durations = [5, 10]
default_duration = 5
resolutions = ["720p", "1080p"]
default_resolution = "720p"
max_prompt_length = 100

[models.i.prices]
"5s@720p" = 10
"10s@720p" = 20
"5s@1080p" = 15
"10s@1080p" = 30
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_minimal_valid_file_loads(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, VALID))
    text, image = catalog.get("t"), catalog.get("i")
    assert (text.kind, text.endpoint, image.kind, image.endpoint) == (
        "text",
        ENDPOINTS["text"],
        "image",
        ENDPOINTS["image"],
    )
    assert text.prices == {(4, None): 10, (8, None): 20}
    assert image.price(10, "1080p") == 30
    assert dict(text.bool_defaults) == {"generate_audio": True}
    assert text.max_negative_prompt_length == 50
    assert image.accepts == frozenset()
    assert text.typical_render_seconds == 120  # the default when the file does not say


def test_a_typical_render_time_must_be_a_positive_whole_number(tmp_path: Path) -> None:
    broken = VALID.replace('kind = "text"', 'kind = "text"\ntypical_render_seconds = 0', 1)
    with pytest.raises(CatalogError, match="typical_render_seconds"):
        load_catalog(write(tmp_path, broken))


def test_durations_are_sorted(tmp_path: Path) -> None:
    text = VALID.replace("durations = [4, 8]", "durations = [8, 4]")
    assert load_catalog(write(tmp_path, text)).get("t").durations == (4, 8)


# (old, new) edits of VALID, and the words the error must contain. Each edit breaks exactly one thing.
BROKEN = {
    "unknown model key": (
        "max_prompt_length = 100\nmax_negative",
        "duraton = 4\nmax_prompt_length = 100\nmax_negative",
        ["model 't'", "unknown key 'duraton'", "did you mean 'durations'?"],
    ),
    "unknown top-level key": ("[default_models]", "version = 2\n[default_models]", ["unknown key 'version'"]),
    "missing kind": ('kind = "text"\n', "", ["model 't'", "kind", "missing"]),
    "bad kind": ('kind = "text"', 'kind = "video"', ["model 't'", "kind", "'video'"]),
    "default duration not allowed": (
        "default_duration = 8",
        "default_duration = 6",
        ["model 't'", "default_duration", "6 is not one of durations [4, 8]"],
    ),
    "duration not a number": ("durations = [4, 8]", 'durations = [4, "8"]', ["model 't'", "durations"]),
    "duration zero": ("durations = [4, 8]", "durations = [0, 4, 8]", ["model 't'", "durations"]),
    "duplicate duration": (
        "durations = [4, 8]",
        "durations = [4, 8, 4]",
        ["model 't'", "durations", "4 twice"],
    ),
    "empty durations": ("durations = [4, 8]", "durations = []", ["model 't'", "durations", "empty"]),
    "default aspect ratio not allowed": (
        'default_aspect_ratio = "16:9"',
        'default_aspect_ratio = "1:1"',
        ["model 't'", "default_aspect_ratio", "'1:1' is not one of aspect_ratios"],
    ),
    "aspect ratios without a default": (
        'default_aspect_ratio = "16:9"\n',
        "",
        ["model 't'", "default_aspect_ratio", "missing"],
    ),
    "malformed aspect ratio": ('"9:16"]', '"9/16"]', ["model 't'", "aspect_ratios", "'9/16'"]),
    "default aspect ratio without aspect ratios": (
        'default_resolution = "720p"',
        'default_resolution = "720p"\ndefault_aspect_ratio = "16:9"',
        ["model 'i'", "default_aspect_ratio", "no aspect_ratios"],
    ),
    "default resolution not allowed": (
        'default_resolution = "720p"',
        'default_resolution = "4k"',
        ["model 'i'", "default_resolution", "'4k' is not one of resolutions"],
    ),
    "missing price for a duration and resolution": (
        '"10s@1080p" = 30\n',
        "",
        ["model 'i'", "prices", "missing for 10s@1080p"],
    ),
    "missing price for a duration": ('"4s" = 10\n', "", ["model 't'", "prices", "missing for 4s"]),
    "no prices at all": ('[models.t.prices]\n"4s" = 10\n"8s" = 20\n', "", ["model 't'", "prices", "missing"]),
    "price for a duration not offered": (
        '"8s" = 20',
        '"8s" = 20\n"6s" = 15',
        ["model 't'", "'6s'", "not in durations"],
    ),
    "price for a resolution not offered": (
        '"10s@1080p" = 30',
        '"10s@1080p" = 30\n"5s@4k" = 50',
        ["model 'i'", "'5s@4k'", "not in resolutions"],
    ),
    "price without the resolution": (
        '"10s@1080p" = 30',
        '"10s@1080p" = 30\n"5s" = 10',
        ["model 'i'", "'5s'", "needs a resolution"],
    ),
    "price with a resolution the model lacks": (
        '"8s" = 20',
        '"8s@720p" = 20',
        ["model 't'", "'8s@720p'", "no resolutions"],
    ),
    "malformed price key": ('"8s" = 20', '"8 seconds" = 20', ["model 't'", "'8 seconds'", "malformed"]),
    "zero price": ('"8s" = 20', '"8s" = 0', ["model 't'", "8s", "above 0"]),
    "fractional price": ('"8s" = 20', '"8s" = 2.5', ["model 't'", "8s", "above 0"]),
    "boolean price": ('"8s" = 20', '"8s" = true', ["model 't'", "8s", "above 0"]),
    "unknown accepted field": (
        '"negative_prompt"]',
        '"negative_promt"]',
        ["model 't'", "accepts", "'negative_promt'", "did you mean 'negative_prompt'"],
    ),
    "switch without a default": (
        "bool_defaults = { generate_audio = true }\n",
        "",
        ["model 't'", "bool_defaults", "no default for generate_audio"],
    ),
    "default for a switch not accepted": (
        "{ generate_audio = true }",
        "{ generate_audio = true, enhance_prompt = false }",
        ["model 't'", "bool_defaults", "enhance_prompt", "accepts does not list it"],
    ),
    "switch default not a boolean": (
        "generate_audio = true }",
        'generate_audio = "yes" }',
        ["model 't'", "generate_audio", "true or false"],
    ),
    "negative prompt limit missing": (
        "max_negative_prompt_length = 50\n",
        "",
        ["model 't'", "max_negative_prompt_length", "missing"],
    ),
    "negative prompt limit without negative prompts": (
        "durations = [5, 10]",
        "durations = [5, 10]\nmax_negative_prompt_length = 50",
        ["model 'i'", "max_negative_prompt_length", "does not accept negative_prompt"],
    ),
    "prompt limit missing": (
        "max_prompt_length = 100\nmax_negative",
        "max_negative",
        ["model 't'", "max_prompt_length", "missing"],
    ),
    "label missing": ('label = "T"\n', "", ["model 't'", "label", "missing"]),
    "label too long": (
        'label = "T"',
        f'label = "{"x" * 101}"',
        ["model 't'", "label", "101 characters", "100"],
    ),
    "description too long": (
        'description = "An image model"',
        f'description = "{"y" * 120}"',
        ["model 'i'", "description", "120 characters"],
    ),
    "no default models": ('[default_models]\ntext = "t"\nimage = "i"\n', "", ["[default_models] is missing"]),
    "no default image model": ('image = "i"\n', "", ["default_models", "no default image model"]),
    "default model unknown": ('text = "t"', 'text = "tt"', ["default_models", "'tt'", "not a model"]),
    "default model of the wrong kind": (
        'image = "i"',
        'image = "t"',
        ["default_models", "image = 't'", "text model"],
    ),
    "default for an unknown kind": ('image = "i"', 'image = "i"\naudio = "t"', ["default_models", "'audio'"]),
    "ids differing only in case": (
        "[models.i]",
        VALID[VALID.index("[models.t]") : VALID.index("[models.i]")].replace("models.t", "models.T")
        + "[models.i]",
        ["model 'T'", "already used by 't'"],
    ),
    "id with a space": ("[models.t]", '[models."t x"]\n[models.t]', ["'t x'", "spaces"]),
    "model not a table": ("[models.t]", "[models]\nbroken = 3\n[models.t]", ["'broken'", "table"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_loader_rejects_a_broken_file(tmp_path: Path, case: str) -> None:
    old, new, words = BROKEN[case]
    assert old in VALID, "the edit must apply to the valid file"
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for word in words:
        assert word in message


def test_the_loader_rejects_a_file_without_models(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"no \[models.<id>\] tables"):
        load_catalog(write(tmp_path, '[default_models]\ntext = "t"\nimage = "i"\n'))


def test_the_loader_rejects_a_catalog_without_an_image_model(tmp_path: Path) -> None:
    text = VALID.split("[models.i]")[0].replace('image = "i"', 'image = "t"')
    with pytest.raises(CatalogError, match="image = 't' is a text model"):
        load_catalog(write(tmp_path, text))


def test_the_loader_reports_invalid_toml_with_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('label = "T"', 'label = "T'))
    with pytest.raises(CatalogError, match=re.escape(f"{path}: not valid TOML")):
        load_catalog(path)


def test_the_loader_reports_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(CatalogError, match=re.escape(f"{path}: cannot read the model catalog")):
        load_catalog(path)
