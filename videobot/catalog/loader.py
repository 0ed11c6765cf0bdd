"""Reading ``models.toml``: the catalog file is checked thoroughly on load.

A typo in the file must stop the bot at start with a message naming the model and the key, not
surface later as a provider error on a member's paid job.
"""

import difflib
import logging
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeGuard

from videobot.catalog.catalog import (
    BOOL_FIELDS,
    DEFAULT_RENDER_SECONDS,
    ENDPOINTS,
    MAX_CHOICE_TEXT,
    OPTIONAL_FIELDS,
    PACKAGED_CATALOG,
    Catalog,
    CatalogError,
    ModelSpec,
    as_kind,
    price_key,
)

log = logging.getLogger(__name__)

_TOP_KEYS: Final = frozenset({"default_models", "models"})
_MODEL_KEYS: Final = frozenset(
    {
        "kind",
        "label",
        "description",
        "durations",
        "default_duration",
        "aspect_ratios",
        "default_aspect_ratio",
        "resolutions",
        "default_resolution",
        "accepts",
        "bool_defaults",
        "max_prompt_length",
        "max_negative_prompt_length",
        "typical_render_seconds",
        "prices",
    }
)
_PRICE_KEY: Final = re.compile(r"(?P<duration>[1-9][0-9]*)s(?:@(?P<resolution>.+))?")
_ASPECT_RATIO: Final = re.compile(r"[1-9][0-9]*:[1-9][0-9]*")
# A resolution becomes part of a price key ("5s@720p"), so it must not contain "@" or spaces.
_RESOLUTION: Final = re.compile(r"[^@\s]+")


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and check a catalog file; ``None`` reads the one packaged with the bot.

    Raises :class:`CatalogError` naming the file, model and key for anything inconsistent.
    """
    source = PACKAGED_CATALOG if path is None else path
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"{source}: cannot read the model catalog: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from exc
    try:
        catalog = _parse_catalog(data)
    except CatalogError as exc:
        raise CatalogError(f"{source}: {exc}") from None
    log.info("Loaded %d video models from %s", len(catalog.models()), source)
    return catalog


def _parse_catalog(data: Mapping[str, object]) -> Catalog:
    _reject_unknown_keys(data, _TOP_KEYS, "the top level")
    models_table = data.get("models")
    if not isinstance(models_table, dict) or not models_table:
        raise CatalogError("no [models.<id>] tables: the catalog needs at least one model of each kind")
    defaults_table = data.get("default_models")
    if not isinstance(defaults_table, dict):
        raise CatalogError("[default_models] is missing: name the default text and image model")
    default_models: dict[str, str] = {}
    for kind, model_id in defaults_table.items():
        if not isinstance(model_id, str):
            raise CatalogError(f"default_models: {kind} must be a model id in quotes")
        default_models[kind] = model_id
    models = [_parse_model(model_id, table) for model_id, table in models_table.items()]
    return Catalog(models, default_models)


def _parse_model(model_id: str, table: object) -> ModelSpec:
    if not isinstance(table, dict):
        raise CatalogError(f"model {model_id!r}: must be a table ([models.{_quoted(model_id)}])")
    if not model_id or model_id != model_id.strip() or any(char.isspace() for char in model_id):
        raise CatalogError(f"model {model_id!r}: the id must not be empty or contain spaces")
    fields = _ModelFields(model_id, table)
    _reject_unknown_keys(table, _MODEL_KEYS, f"model {model_id!r}")

    kind_value = table.get("kind")
    if kind_value is None:
        raise fields.error("kind", "is missing: say whether it is a text or an image model")
    try:
        kind = as_kind(kind_value)
    except ValueError:
        raise fields.error("kind", f"must be 'text' or 'image', not {kind_value!r}") from None

    durations = tuple(sorted(fields.int_list("durations")))
    default_duration = fields.positive_int("default_duration")
    if default_duration not in durations:
        raise fields.error(
            "default_duration", f"{default_duration} is not one of durations {list(durations)}"
        )

    aspect_ratios, default_aspect_ratio = fields.choice_list(
        "aspect_ratios", "default_aspect_ratio", _ASPECT_RATIO
    )
    resolutions, default_resolution = fields.choice_list("resolutions", "default_resolution", _RESOLUTION)

    accepts = fields.accepts()
    bool_defaults = fields.bool_defaults(accepts)
    max_prompt_length = fields.positive_int("max_prompt_length")
    max_negative = fields.optional_positive_int("max_negative_prompt_length")
    if "negative_prompt" in accepts and max_negative is None:
        raise fields.error("max_negative_prompt_length", "is missing: the model accepts negative_prompt")
    if "negative_prompt" not in accepts and max_negative is not None:
        raise fields.error(
            "max_negative_prompt_length", "is set but the model does not accept negative_prompt"
        )

    return ModelSpec(
        id=model_id,
        kind=kind,
        endpoint=ENDPOINTS[kind],
        label=fields.short_text("label"),
        description=fields.short_text("description"),
        durations=durations,
        default_duration=default_duration,
        aspect_ratios=aspect_ratios,
        default_aspect_ratio=default_aspect_ratio,
        resolutions=resolutions,
        default_resolution=default_resolution,
        accepts=accepts,
        bool_defaults=MappingProxyType(bool_defaults),
        max_prompt_length=max_prompt_length,
        prices=MappingProxyType(fields.prices(durations, resolutions)),
        max_negative_prompt_length=max_negative,
        typical_render_seconds=fields.optional_positive_int("typical_render_seconds")
        or DEFAULT_RENDER_SECONDS,
    )


class _ModelFields:
    """Typed access to one model's TOML table, with errors that name the model and the key."""

    def __init__(self, model_id: str, table: Mapping[str, object]) -> None:
        self.model_id = model_id
        self.table = table

    def error(self, key: str, problem: str) -> CatalogError:
        return CatalogError(f"model {self.model_id!r}: {key} {problem}")

    def short_text(self, key: str) -> str:
        value = self.table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "is missing or empty")
        if len(value) > MAX_CHOICE_TEXT:
            raise self.error(key, f"is {len(value)} characters; Discord shows at most {MAX_CHOICE_TEXT}")
        return value

    def positive_int(self, key: str) -> int:
        value = self.optional_positive_int(key)
        if value is None:
            raise self.error(key, "is missing")
        return value

    def optional_positive_int(self, key: str) -> int | None:
        value = self.table.get(key)
        if value is None:
            return None
        if not _is_int(value) or value <= 0:
            raise self.error(key, f"must be a whole number above 0, not {value!r}")
        return value

    def int_list(self, key: str) -> list[int]:
        value = self.table.get(key)
        if not isinstance(value, list) or not value:
            raise self.error(key, "is missing or empty: list the seconds the model offers, e.g. [5, 10]")
        if not all(_is_int(item) and item > 0 for item in value):
            raise self.error(key, f"must hold whole numbers of seconds above 0, not {value!r}")
        _reject_duplicates(self, key, value)
        return [int(item) for item in value]

    def choice_list(
        self, key: str, default_key: str, pattern: re.Pattern[str]
    ) -> tuple[tuple[str, ...], str | None]:
        """A list of allowed strings and its default; both absent means the model lacks that field."""
        values = self.table.get(key)
        default = self.table.get(default_key)
        if values is None:
            if default is not None:
                raise self.error(default_key, f"is set but the model has no {key}")
            return (), None
        if not isinstance(values, list) or not values:
            raise self.error(key, "must be a non-empty list; leave it out if the model has no such field")
        for item in values:
            if not isinstance(item, str) or not pattern.fullmatch(item):
                raise self.error(key, f"has a malformed value {item!r}")
        _reject_duplicates(self, key, values)
        if default is None:
            raise self.error(default_key, f"is missing: pick one of {key} {values}")
        if default not in values:
            raise self.error(default_key, f"{default!r} is not one of {key} {values}")
        return tuple(values), str(default)

    def accepts(self) -> frozenset[str]:
        value = self.table.get("accepts", [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error("accepts", "must be a list of field names")
        for item in value:
            if item not in OPTIONAL_FIELDS:
                raise self.error("accepts", f"has unknown field {item!r}{_suggestion(item, OPTIONAL_FIELDS)}")
        _reject_duplicates(self, "accepts", value)
        return frozenset(value)

    def bool_defaults(self, accepts: frozenset[str]) -> dict[str, bool]:
        value = self.table.get("bool_defaults", {})
        if not isinstance(value, dict):
            raise self.error("bool_defaults", "must be a table such as { generate_audio = true }")
        result: dict[str, bool] = {}
        for name, default in value.items():
            if name not in BOOL_FIELDS:
                raise self.error(
                    "bool_defaults", f"has unknown switch {name!r}{_suggestion(name, BOOL_FIELDS)}"
                )
            if name not in accepts:
                raise self.error("bool_defaults", f"sets {name} but accepts does not list it")
            if not isinstance(default, bool):
                raise self.error("bool_defaults", f"{name} must be true or false, not {default!r}")
            result[name] = default
        # Every switch the model takes gets an explicit value in the payload, so that what the status
        # message says ("Audio: generated") is what we asked for, not the provider's unstated default.
        for name in sorted(accepts & BOOL_FIELDS):
            if name not in result:
                raise self.error("bool_defaults", f"has no default for {name}, which the model accepts")
        return result

    def prices(
        self, durations: Sequence[int], resolutions: Sequence[str]
    ) -> dict[tuple[int, str | None], int]:
        table = self.table.get("prices")
        if not isinstance(table, dict) or not table:
            raise self.error("prices", f"are missing: add [models.{_quoted(self.model_id)}.prices]")
        prices: dict[tuple[int, str | None], int] = {}
        for key, credits in table.items():
            match = _PRICE_KEY.fullmatch(key)
            if match is None:
                raise self.error("prices", f"key {key!r} is malformed: write '8s' or '5s@720p'")
            duration = int(match["duration"])
            resolution: str | None = match["resolution"]
            if duration not in durations:
                raise self.error("prices", f"key {key!r} is for {duration} s, which is not in durations")
            if resolutions and resolution is None:
                raise self.error(
                    "prices", f"key {key!r} needs a resolution, e.g. '{duration}s@{resolutions[0]}'"
                )
            if not resolutions and resolution is not None:
                raise self.error("prices", f"key {key!r} has a resolution but the model has no resolutions")
            if resolution is not None and resolution not in resolutions:
                raise self.error("prices", f"key {key!r} is for {resolution}, which is not in resolutions")
            if not _is_int(credits) or credits <= 0:
                raise self.error(
                    "prices", f"{key!r} must be a whole number of credits above 0, not {credits!r}"
                )
            prices[(duration, resolution)] = credits
        missing = [
            price_key(duration, resolution)
            for resolution in (resolutions or (None,))
            for duration in durations
            if (duration, resolution) not in prices
        ]
        if missing:
            raise self.error("prices", f"are missing for {', '.join(missing)}")
        return prices


def _is_int(value: object) -> TypeGuard[int]:
    # TOML booleans load as Python bool, an int subclass: true must not pass for 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _reject_duplicates(fields: _ModelFields, key: str, values: Sequence[object]) -> None:
    seen: set[object] = set()
    for item in values:
        if item in seen:
            raise fields.error(key, f"lists {item!r} twice")
        seen.add(item)


def _reject_unknown_keys(table: Mapping[str, object], allowed: frozenset[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise CatalogError(f"{where}: unknown key {key!r}{_suggestion(key, allowed)}")


def _suggestion(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _quoted(model_id: str) -> str:
    return f'"{model_id}"'
