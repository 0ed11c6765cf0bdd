"""Turning what a member typed into a checked, priced video request and the provider's JSON body.

Discord's choices and autocomplete already steer members to valid values, but options can be typed by
hand, a catalog can change between the autocomplete and the command, and a stored job is re-rolled
later: so every combination is checked here, server-side, and every refusal says exactly what is
allowed.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

from videobot.catalog.catalog import Catalog, InvalidRequest, Kind, ModelSpec, as_kind, seconds_text

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Bumped when the shape of :meth:`ValidatedVideo.to_record` changes, so old rows are recognised.
RECORD_VERSION: Final = 1


@dataclass(frozen=True)
class VideoChoices:
    """What a member asked for, as typed; ``None`` means the option was not given.

    ``has_image``/``has_audio`` say whether an image or audio attachment came with the command; the
    files themselves are checked and hosted elsewhere.
    """

    kind: Literal["text", "image"]
    prompt: str
    model_id: str | None = None
    duration: int | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    generate_audio: bool | None = None
    negative_prompt: str | None = None
    enhance_prompt: bool | None = None
    has_image: bool = False
    has_audio: bool = False


@dataclass(frozen=True)
class ValidatedVideo:
    """A request that passed every catalog rule, with all defaults filled in and its price.

    Fields the model does not take are ``None`` (``with_audio``: whether the member's audio track is
    sent as ``init_audio``). ``cost`` is in credits.
    """

    model: ModelSpec
    prompt: str
    duration: int
    aspect_ratio: str | None
    resolution: str | None
    generate_audio: bool | None
    negative_prompt: str | None
    enhance_prompt: bool | None
    with_audio: bool
    cost: int

    @property
    def catalog_cost(self) -> int:
        """What the video costs at the catalog's price, whatever a server charges for it."""
        return self.model.price(self.duration, self.resolution)

    def settings_summary(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs for the job's status message, only for settings that apply."""
        lines = [("Model", self.model.id), ("Duration", seconds_text(self.duration))]
        if self.aspect_ratio is not None:
            lines.append(("Aspect ratio", self.aspect_ratio))
        if self.resolution is not None:
            lines.append(("Resolution", self.resolution))
        if self.with_audio:
            lines.append(("Audio", "your track"))
        elif self.generate_audio is not None:
            lines.append(("Audio", "generated" if self.generate_audio else "none"))
        if self.enhance_prompt is not None:
            lines.append(("Prompt enhancement", "on" if self.enhance_prompt else "off"))
        if self.negative_prompt is not None:
            lines.append(("Negative prompt", self.negative_prompt))
        return lines

    def provider_payload(
        self, *, init_image_url: str | None = None, init_audio_url: str | None = None
    ) -> dict[str, object]:
        """The JSON body for the model's endpoint, without ``key`` (the client adds it).

        Only fields the model accepts are present: a provider may reject or silently misread a field it
        does not know. ``duration`` is a string as in the provider's published examples. The URLs must match
        the request: an image URL exactly for image models, an audio URL exactly when ``with_audio``;
        anything else is a bug in the caller and raises ``ValueError``.
        """
        if self.model.kind == "image" and not init_image_url:
            raise ValueError(f"{self.model.id} is an image model: init_image_url is required")
        if self.model.kind == "text" and init_image_url is not None:
            raise ValueError(f"{self.model.id} is a text model: it takes no init_image_url")
        if self.with_audio and not init_audio_url:
            raise ValueError("the request has an audio track: init_audio_url is required")
        if not self.with_audio and init_audio_url is not None:
            raise ValueError("the request has no audio track: init_audio_url must be None")

        payload: dict[str, object] = {
            "model_id": self.model.id,
            "prompt": self.prompt,
            "duration": str(self.duration),
        }
        if init_image_url is not None:
            payload["init_image"] = init_image_url
        if init_audio_url is not None:
            payload["init_audio"] = init_audio_url
        if self.model.aspect_ratios:
            payload["aspect_ratio"] = self.aspect_ratio
        if self.model.resolutions:
            payload["resolution"] = self.resolution
        if self.model.takes("generate_audio"):
            payload["generate_audio"] = self.generate_audio
        if self.model.takes("negative_prompt"):
            # The provider documents null as "nothing to avoid", so the key is sent either way.
            payload["negative_prompt"] = self.negative_prompt
        if self.model.takes("enhance_prompt"):
            payload["enhance_prompt"] = self.enhance_prompt
        return payload

    def to_choices(self) -> VideoChoices:
        """These settings as explicit member choices, e.g. to validate and price a re-roll afresh."""
        return VideoChoices(
            kind=self.model.kind,
            prompt=self.prompt,
            model_id=self.model.id,
            duration=self.duration,
            aspect_ratio=self.aspect_ratio,
            resolution=self.resolution,
            generate_audio=self.generate_audio,
            negative_prompt=self.negative_prompt,
            enhance_prompt=self.enhance_prompt,
            has_image=self.model.kind == "image",
            has_audio=self.with_audio,
        )

    def to_record(self) -> dict[str, object]:
        """A JSON-serialisable copy for the job's row; :meth:`from_record` reads it back."""
        return {
            "version": RECORD_VERSION,
            "kind": self.model.kind,
            "model_id": self.model.id,
            "prompt": self.prompt,
            "duration": self.duration,
            "aspect_ratio": self.aspect_ratio,
            "resolution": self.resolution,
            "generate_audio": self.generate_audio,
            "negative_prompt": self.negative_prompt,
            "enhance_prompt": self.enhance_prompt,
            "with_audio": self.with_audio,
            "cost": self.cost,
        }

    @classmethod
    def from_record(cls, catalog: Catalog, record: Mapping[str, object]) -> "ValidatedVideo":
        """Rebuild a stored request against ``catalog``, keeping the stored cost.

        The settings are validated again, because the catalog may have changed since the job ran: a
        removed model or duration raises :class:`InvalidRequest` with the usual member-facing message.
        A malformed record (not written by :meth:`to_record`) raises ``ValueError``.
        """
        version = record.get("version")
        if version != RECORD_VERSION:
            raise ValueError(f"unsupported video record version {version!r}")
        kind = as_kind(record.get("kind"))
        with_audio = _record_value(record, "with_audio", bool)
        cost = _record_value(record, "cost", int)
        choices = VideoChoices(
            kind=kind,
            prompt=_record_value(record, "prompt", str),
            model_id=_record_value(record, "model_id", str),
            duration=_record_value(record, "duration", int),
            aspect_ratio=_record_optional(record, "aspect_ratio", str),
            resolution=_record_optional(record, "resolution", str),
            generate_audio=_record_optional(record, "generate_audio", bool),
            negative_prompt=_record_optional(record, "negative_prompt", str),
            enhance_prompt=_record_optional(record, "enhance_prompt", bool),
            has_image=kind == "image",
            has_audio=with_audio,
        )
        return validate_choices(catalog, choices, price_override=cost)


def validate_choices(
    catalog: Catalog, choices: VideoChoices, *, price_override: int | None = None
) -> ValidatedVideo:
    """Check a member's choices against the catalog, fill in defaults, and price the request.

    ``price_override`` (credits, e.g. a server's per-model price) replaces the catalog price.
    Raises :class:`InvalidRequest` (or its subclass ``UnknownModel``) with every problem found, one
    per line, in words a member understands.
    """
    kind = as_kind(choices.kind)
    if price_override is not None and (
        not isinstance(price_override, int) or isinstance(price_override, bool) or price_override < 0
    ):
        raise ValueError(f"price_override must be a whole number of credits ≥ 0, not {price_override!r}")

    # Without a valid model nothing else can be judged, so a bad model is reported on its own.
    model = catalog.default_model(kind) if choices.model_id is None else catalog.get(choices.model_id, kind)
    problems: list[str] = []

    prompt = choices.prompt.strip()
    if not prompt:
        problems.append("The prompt is empty: describe the video you want.")
    elif len(prompt) > model.max_prompt_length:
        problems.append(
            f"The prompt is {len(prompt):,} characters long; {model.id} takes at most "
            f"{model.max_prompt_length:,}."
        )

    if kind == "image" and not choices.has_image:
        problems.append(f"{model.id} animates an image: attach one as the image option.")
    if kind == "text" and choices.has_image:
        problems.append(f"{model.id} makes videos from text and takes no image: use /video image.")

    duration = model.default_duration if choices.duration is None else choices.duration
    aspect_ratio = model.default_aspect_ratio if choices.aspect_ratio is None else choices.aspect_ratio
    resolution = model.default_resolution if choices.resolution is None else choices.resolution
    problems.extend(
        problem
        for problem in (
            model.duration_problem(duration),
            model.aspect_ratio_problem(aspect_ratio),
            model.resolution_problem(resolution),
        )
        if problem is not None
    )

    generate_audio = _switch(catalog, model, "generate_audio", choices.generate_audio, problems)
    enhance_prompt = _switch(catalog, model, "enhance_prompt", choices.enhance_prompt, problems)

    # A blank negative prompt is the same as none: Discord lets a member send spaces.
    negative_prompt = (choices.negative_prompt or "").strip() or None
    if negative_prompt is not None:
        if not model.takes("negative_prompt"):
            problems.append(_not_accepted(catalog, model, "negative_prompt"))
        elif model.max_negative_prompt_length is not None and (
            len(negative_prompt) > model.max_negative_prompt_length
        ):
            problems.append(
                f"The negative prompt is {len(negative_prompt):,} characters long; {model.id} takes at "
                f"most {model.max_negative_prompt_length:,}."
            )

    if choices.has_audio and not model.takes("init_audio"):
        others = _models_taking(catalog, model.kind, "init_audio")
        if others:
            problems.append(f"{model.id} does not take an audio track; models that do: {', '.join(others)}")
        else:
            problems.append(f"{model.id} does not take an audio track, and no {model.kind} model does")

    if problems:
        raise InvalidRequest(*problems)

    cost = model.price(duration, resolution) if price_override is None else price_override
    return ValidatedVideo(
        model=model,
        prompt=prompt,
        duration=duration,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        generate_audio=generate_audio,
        negative_prompt=negative_prompt,
        enhance_prompt=enhance_prompt,
        with_audio=choices.has_audio,
        cost=cost,
    )


def _switch(
    catalog: Catalog, model: ModelSpec, field: str, chosen: bool | None, problems: list[str]
) -> bool | None:
    """The value of an on/off field: the member's, else the catalog default; ``None`` if not taken."""
    if not model.takes(field):
        if chosen is not None:
            problems.append(_not_accepted(catalog, model, field))
        return None
    return model.bool_defaults[field] if chosen is None else chosen


def _not_accepted(catalog: Catalog, model: ModelSpec, field: str) -> str:
    # The provider's field names double as the Discord option names (docs/design.md), so the member
    # recognises the word.
    others = _models_taking(catalog, model.kind, field)
    if others:
        return f"{model.id} has no {field} option; models that have it: {', '.join(others)}"
    return f"{model.id} has no {field} option"


def _models_taking(catalog: Catalog, kind: Kind, field: str) -> list[str]:
    # Only models of the same kind help: the member is in the command for that kind.
    return [model.id for model in catalog.models(kind) if model.takes(field)]


def _record_value(record: Mapping[str, object], key: str, expected: type[_T]) -> _T:
    value = _record_optional(record, key, expected)
    if value is None:
        raise ValueError(f"video record: {key} is missing")
    return value


def _record_optional(record: Mapping[str, object], key: str, expected: type[_T]) -> _T | None:
    value = record.get(key)
    if value is None:
        return None
    # bool is an int subclass: a stored true must not read back as a duration or cost of 1.
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ValueError(f"video record: {key} should be {expected.__name__}, not {value!r}")
    return value
