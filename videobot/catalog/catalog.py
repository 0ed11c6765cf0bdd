"""The model catalog: which video models the bot offers, what each accepts and what it costs.

The facts live in ``models.toml`` next to this package (an operator changes a price or adds a model
without touching code); `videobot.catalog.loader` reads and checks that file into these objects.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

from videobot.errors import Refused

Kind: TypeAlias = Literal["text", "image"]
"""What a model starts from: a text prompt, or an image (plus a prompt)."""

KINDS: Final[tuple[Kind, ...]] = ("text", "image")

#: The video-fusion endpoint for each kind, appended to ``/v7/video-fusion/`` by the client.
ENDPOINTS: Final[Mapping[Kind, str]] = MappingProxyType({"text": "text-to-video", "image": "image-to-video"})

#: Optional request fields a model may accept, named as in the provider's JSON body.
OPTIONAL_FIELDS: Final = frozenset({"generate_audio", "negative_prompt", "enhance_prompt", "init_audio"})

#: The optional fields that are on/off switches and so need a default in the catalog.
BOOL_FIELDS: Final = frozenset({"generate_audio", "enhance_prompt"})

#: How long a render is expected to take when the catalog does not say.
DEFAULT_RENDER_SECONDS: Final = 120

#: Discord caps a choice's name at 100 characters; labels and descriptions end up there.
MAX_CHOICE_TEXT: Final = 100

#: The catalog shipped with the bot. Resolved from this file, not the working directory, so it is found
#: wherever the bot is started from and wherever the package is installed.
PACKAGED_CATALOG: Final = Path(__file__).with_name("models.toml")

# Words for the commands a member should use instead, per kind. They name the public slash commands
# (docs/design.md) because the member reads them.
_KIND_WORDS: Final[Mapping[Kind, str]] = MappingProxyType(
    {
        "text": "makes videos from text: use /video text",
        "image": "makes videos from an image: use /video image",
    }
)
_KIND_TITLES: Final[Mapping[Kind, str]] = MappingProxyType(
    {"text": "text-to-video models", "image": "image-to-video models"}
)

# Friendly names for common ratios in autocomplete; any other ratio is shown as it is.
_RATIO_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {"16:9": "landscape", "9:16": "portrait", "1:1": "square", "4:3": "classic", "9:21": "tall"}
)


class CatalogError(Exception):
    """The catalog file is missing or inconsistent. Raised at start; the message names the model and key."""


class InvalidRequest(Refused):
    """A member's choices cannot become a job. ``str()`` is the exact message to show them.

    Several problems can be reported at once (one per line) so a member fixes them in one go;
    ``problems`` keeps them apart for callers that want to render them differently.
    """

    def __init__(self, message: str, *more: str) -> None:
        self.problems: tuple[str, ...] = (message, *more)
        super().__init__("\n".join(self.problems))


class UnknownModel(InvalidRequest):
    """The model id is not in the catalog. The message lists the ids the member can use instead."""

    def __init__(self, model_id: str, message: str) -> None:
        super().__init__(message)
        self.model_id = model_id


def as_kind(value: object) -> Kind:
    """Return ``value`` as a :data:`Kind`, or raise ``ValueError`` if it is not one."""
    if value == "text":
        return "text"
    if value == "image":
        return "image"
    raise ValueError(f"kind must be 'text' or 'image', not {value!r}")


def or_list(values: Iterable[object], conjunction: str = "or") -> str:
    """Join values the way a sentence does: ``4, 6 or 8``."""
    words = [str(value) for value in values]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def seconds_text(duration: int) -> str:
    """How a duration reads in choices and summaries: ``8 s``."""
    return f"{duration} s"


def price_key(duration: int, resolution: str | None) -> str:
    """The key of a price in ``models.toml``: ``8s`` or ``5s@720p``."""
    return f"{duration}s" if resolution is None else f"{duration}s@{resolution}"


@dataclass(frozen=True)
class ModelSpec:
    """One video model: its request fields, allowed values, defaults and prices.

    ``aspect_ratios``/``resolutions`` are empty when the model does not take that field at all, and the
    matching default is then ``None``. ``prices`` is keyed by ``(duration, resolution)``, the resolution
    being ``None`` for models without one.
    """

    id: str
    kind: Kind
    endpoint: str
    label: str
    description: str
    durations: tuple[int, ...]
    default_duration: int
    aspect_ratios: tuple[str, ...]
    default_aspect_ratio: str | None
    resolutions: tuple[str, ...]
    default_resolution: str | None
    accepts: frozenset[str]
    bool_defaults: Mapping[str, bool]
    max_prompt_length: int
    prices: Mapping[tuple[int, str | None], int]
    max_negative_prompt_length: int | None = None
    # About how long a render takes, for the expected finish shown before ModelsLab gives an ETA.
    typical_render_seconds: int = 120

    # The generated hash would try to hash the mappings and fail; the id identifies a model in a catalog.
    def __hash__(self) -> int:
        return hash((self.id, self.kind))

    def takes(self, field: str) -> bool:
        """Whether the model accepts the optional request field ``field`` (see :data:`OPTIONAL_FIELDS`)."""
        return field in self.accepts

    def duration_problem(self, duration: int) -> str | None:
        """The member-facing message if ``duration`` is not offered, else ``None``."""
        if duration in self.durations:
            return None
        return f"{self.id} takes {or_list(self.durations)} seconds"

    def aspect_ratio_problem(self, aspect_ratio: str | None) -> str | None:
        """The member-facing message if ``aspect_ratio`` is not valid for this model, else ``None``.

        ``None`` is valid exactly when the model has no aspect ratio field.
        """
        if not self.aspect_ratios:
            return None if aspect_ratio is None else f"{self.id} has no aspect ratio option"
        if aspect_ratio in self.aspect_ratios:
            return None
        return f"{self.id} takes aspect ratio {or_list(self.aspect_ratios)}"

    def resolution_problem(self, resolution: str | None) -> str | None:
        """The member-facing message if ``resolution`` is not valid for this model, else ``None``.

        ``None`` is valid exactly when the model has no resolution field.
        """
        if not self.resolutions:
            return None if resolution is None else f"{self.id} has no resolution option"
        if resolution in self.resolutions:
            return None
        return f"{self.id} takes resolution {or_list(self.resolutions)}"

    def price(self, duration: int, resolution: str | None) -> int:
        """Credits for one video of ``duration`` seconds at ``resolution`` (``None`` if the model has none).

        Raises :class:`InvalidRequest` for a combination the model does not offer.
        """
        problems = [
            problem
            for problem in (self.duration_problem(duration), self.resolution_problem(resolution))
            if problem is not None
        ]
        if problems:
            raise InvalidRequest(*problems)
        return self.prices[(duration, resolution)]


@dataclass(frozen=True)
class PriceLine:
    """One row of the price list: a model at one duration (and resolution) and what it costs."""

    model_id: str
    label: str
    kind: Kind
    duration: int
    resolution: str | None
    credits: int
    overridden: bool
    """True when the server's override set ``credits`` rather than the catalog."""

    @property
    def settings(self) -> str:
        """The duration and resolution as a member reads them: ``8 s`` or ``5 s, 720p``."""
        text = seconds_text(self.duration)
        return text if self.resolution is None else f"{text}, {self.resolution}"


class Catalog:
    """The models on offer, in file order, with a default model per kind.

    Built by :func:`load_catalog`; the constructor checks what spans models (unique ids, defaults that
    exist and have the right kind).
    """

    def __init__(self, models: Iterable[ModelSpec], default_models: Mapping[str, str]) -> None:
        self._models: dict[str, ModelSpec] = {}
        # Ids differing only in case would make the "did you mean" hint ambiguous and are almost
        # certainly a typo, since the provider's ids are case-sensitive.
        folded: dict[str, str] = {}
        for model in models:
            other = folded.get(model.id.casefold())
            if other is not None:
                raise CatalogError(f"model {model.id!r}: the id is already used by {other!r}")
            folded[model.id.casefold()] = model.id
            self._models[model.id] = model
        self._defaults: dict[Kind, ModelSpec] = {}
        for key in default_models:
            if key not in KINDS:
                raise CatalogError(f"default_models: unknown kind {key!r} (use text or image)")
        for kind in KINDS:
            model_id = default_models.get(kind)
            if model_id is None:
                raise CatalogError(f"default_models: no default {kind} model")
            default = self._models.get(model_id)
            if default is None:
                raise CatalogError(f"default_models: {kind} = {model_id!r} is not a model in the catalog")
            if default.kind != kind:
                raise CatalogError(f"default_models: {kind} = {model_id!r} is a {default.kind} model")
            self._defaults[kind] = default

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._models

    def get(self, model_id: str, kind: str | None = None) -> ModelSpec:
        """The model with this exact id; with ``kind``, also check that it is a model of that kind.

        Raises :class:`UnknownModel` (listing the ids of ``kind``, or all ids) for an unknown id, and
        :class:`InvalidRequest` naming the right command for a model of the other kind.
        """
        wanted = None if kind is None else as_kind(kind)
        model = self._models.get(model_id)
        if model is None:
            raise UnknownModel(model_id, self._unknown_model_message(model_id, wanted))
        if wanted is not None and model.kind != wanted:
            raise InvalidRequest(f"{model.id} {_KIND_WORDS[model.kind]}")
        return model

    def models(self, kind: str | None = None) -> list[ModelSpec]:
        """All models in file order, or those of one kind."""
        if kind is None:
            return list(self._models.values())
        wanted = as_kind(kind)
        return [model for model in self._models.values() if model.kind == wanted]

    def default_model(self, kind: str) -> ModelSpec:
        """The model used when a member picks none."""
        return self._defaults[as_kind(kind)]

    def model_choices(self, kind: str) -> list[tuple[str, str]]:
        """``(label, id)`` pairs for the model option of a kind's command, the default first."""
        default = self.default_model(kind)
        others = [model for model in self.models(kind) if model is not default]
        return [(model.label, model.id) for model in (default, *others)]

    def duration_choices(self, kind: str, model_id: str | None) -> list[tuple[str, int]]:
        """``("8 s (default)", 8)``-style pairs for the model picked so far (``None``: the default)."""
        model = self._model_for_choices(kind, model_id)
        return [
            (_choice_name(seconds_text(duration), duration == model.default_duration), duration)
            for duration in model.durations
        ]

    def aspect_ratio_choices(self, kind: str, model_id: str | None) -> list[tuple[str, str]]:
        """``("16:9 landscape (default)", "16:9")``-style pairs; empty if the model has no aspect ratio."""
        model = self._model_for_choices(kind, model_id)
        return [
            (_choice_name(_ratio_text(ratio), ratio == model.default_aspect_ratio), ratio)
            for ratio in model.aspect_ratios
        ]

    def resolution_choices(self, kind: str, model_id: str | None) -> list[tuple[str, str]]:
        """``("720p (default)", "720p")``-style pairs; empty if the model has no resolution."""
        model = self._model_for_choices(kind, model_id)
        return [
            (_choice_name(resolution, resolution == model.default_resolution), resolution)
            for resolution in model.resolutions
        ]

    def price_list(self, overrides: Mapping[str, int] | None = None) -> list[PriceLine]:
        """Every model, duration and resolution with its price, for ``/credits prices``.

        ``overrides`` maps a model id to a flat price that replaces all of that model's prices (a
        server's setting). Ids not in the catalog are ignored: a server's stored setting may outlive a
        model the operator has since removed, and that must not break the price list.
        """
        overrides = overrides or {}
        for model_id, credits in overrides.items():
            _check_override(model_id, credits)
        lines: list[PriceLine] = []
        for model in self._models.values():
            override = overrides.get(model.id)
            for resolution in model.resolutions or (None,):
                for duration in model.durations:
                    lines.append(
                        PriceLine(
                            model_id=model.id,
                            label=model.label,
                            kind=model.kind,
                            duration=duration,
                            resolution=resolution,
                            credits=model.prices[(duration, resolution)] if override is None else override,
                            overridden=override is not None,
                        )
                    )
        return lines

    def _model_for_choices(self, kind: str, model_id: str | None) -> ModelSpec:
        # Autocomplete runs while the member is still typing, so the model option may hold anything.
        # Falling back to the kind's default keeps the suggestions useful; validation still rejects a
        # bad model when the command is sent.
        wanted = as_kind(kind)
        model = None if model_id is None else self._models.get(model_id)
        if model is None or model.kind != wanted:
            return self._defaults[wanted]
        return model

    def _unknown_model_message(self, model_id: str, kind: Kind | None) -> str:
        kinds = KINDS if kind is None else (kind,)
        groups = [
            f"{_KIND_TITLES[each]}: {', '.join(model.id for model in self.models(each))}" for each in kinds
        ]
        message = f"There is no model called {model_id!r}. {_capitalise('; '.join(groups))}."
        same_but_case = [known for known in self._models if known.casefold() == model_id.casefold()]
        if same_but_case:
            message += f" Model names are case-sensitive: did you mean {same_but_case[0]}?"
        return message


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _choice_name(text: str, is_default: bool) -> str:
    return f"{text} (default)" if is_default else text


def _ratio_text(ratio: str) -> str:
    name = _RATIO_NAMES.get(ratio)
    return ratio if name is None else f"{ratio} {name}"


def _check_override(model_id: str, credits: object) -> None:
    # A price is integer credits; bool is an int subclass and would slip through as 0 or 1.
    if not isinstance(credits, int) or isinstance(credits, bool) or credits < 0:
        raise ValueError(
            f"price override for {model_id!r} must be a whole number of credits ≥ 0: {credits!r}"
        )
