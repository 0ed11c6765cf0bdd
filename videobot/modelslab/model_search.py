"""What ModelsLab says about one model: its parameters, read from ``/v6/model-search/{model_id}``.

The answer holds the model's endpoint configurations, each with a ``parameters`` JSON Schema
(types, enums, defaults). Its exact envelope is not documented, so `parse_model_info` looks for the
schemas wherever they have been described (a ``data`` object or the top level, an ``endpoints``
list or object, or one ``parameters`` schema) and keeps only the facts the catalog check needs.
Pure functions: nothing here does I/O or raises on odd shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

__all__ = ["JsonScalar", "ModelInfo", "ModelParameter", "parse_model_info"]

JsonScalar = str | int | float | bool | None


@dataclass(frozen=True)
class ModelParameter:
    """One request field a model accepts, as its schema describes it.

    ``choices`` are the allowed values (the schema's ``enum``), empty when any value of ``type`` is
    allowed; ``default`` is None when the schema gives none (``has_default`` tells a JSON null
    default apart). ``minimum``/``maximum`` are numeric bounds when given.
    """

    name: str
    type: str | None = None
    choices: tuple[JsonScalar, ...] = ()
    default: JsonScalar = None
    has_default: bool = False
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class ModelInfo:
    """A model as ModelsLab describes it: id, display name, endpoints and merged parameters.

    ``parameters`` merges every endpoint's schema (the first endpoint that describes a field wins;
    a field is required when any endpoint requires it). ``endpoints`` lists the endpoint names or
    paths in the order given, when the answer names them.
    """

    model_id: str
    name: str | None
    endpoints: tuple[str, ...] = ()
    parameters: Mapping[str, ModelParameter] = field(default_factory=dict)

    def choices(self, parameter: str) -> tuple[JsonScalar, ...]:
        """The allowed values of ``parameter`` (empty: unrestricted or unknown)."""
        found = self.parameters.get(parameter)
        return found.choices if found is not None else ()


def _scalar(value: object) -> tuple[bool, JsonScalar]:
    if value is None or isinstance(value, str | int | float | bool):
        return True, value
    return False, None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _parameter(name: str, schema: Mapping[str, object], required: bool) -> ModelParameter:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "|".join(str(k) for k in kind if isinstance(k, str)) or None
    elif not isinstance(kind, str):
        kind = None
    raw_choices = schema.get("enum")
    choices: list[JsonScalar] = []
    if isinstance(raw_choices, list):
        for item in raw_choices:
            ok, value = _scalar(item)
            if ok and value not in choices:
                choices.append(value)
    has_default, default = _scalar(schema.get("default")) if "default" in schema else (False, None)
    return ModelParameter(
        name=name,
        type=kind,
        choices=tuple(choices),
        default=default,
        has_default=has_default,
        required=required,
        minimum=_number(schema.get("minimum")),
        maximum=_number(schema.get("maximum")),
    )


def _schema_parameters(schema: object) -> list[ModelParameter]:
    """The fields of one JSON Schema object (``{"type": "object", "properties": {...}}``)."""
    if not isinstance(schema, Mapping):
        return []
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return []
    required_list = schema.get("required")
    required = {r for r in required_list if isinstance(r, str)} if isinstance(required_list, list) else set()
    return [
        _parameter(str(name), spec, str(name) in required)
        for name, spec in properties.items()
        if isinstance(spec, Mapping)
    ]


def _endpoint_configs(data: Mapping[str, object]) -> list[tuple[str | None, object]]:
    """(endpoint name, parameters schema) pairs, in the order the answer gives them."""
    configs: list[tuple[str | None, object]] = []
    endpoints = data.get("endpoints")
    entries: list[tuple[str | None, object]] = []
    if isinstance(endpoints, list):
        entries = [(None, entry) for entry in endpoints]
    elif isinstance(endpoints, Mapping):
        entries = [(str(key), entry) for key, entry in endpoints.items()]
    for key, entry in entries:
        if not isinstance(entry, Mapping):
            continue
        label = key
        for name_key in ("endpoint", "path", "url", "name"):
            value = entry.get(name_key)
            if isinstance(value, str) and value.strip():
                label = value.strip()
                break
        configs.append((label, entry.get("parameters")))
    if "parameters" in data:
        configs.append((None, data.get("parameters")))
    return configs


def _model_object(body: Mapping[str, object], model_id: str) -> Mapping[str, object] | None:
    data = body.get("data", body)
    if isinstance(data, list):
        candidates = [item for item in data if isinstance(item, Mapping)]
        matching = [item for item in candidates if item.get("model_id") == model_id]
        data = (matching or candidates)[0] if candidates else None
    return data if isinstance(data, Mapping) else None


def parse_model_info(body: Mapping[str, object], model_id: str) -> ModelInfo | None:
    """Read a model-search answer; None when it describes no model at all."""
    data = _model_object(body, model_id)
    if data is None:
        return None
    names = (data.get(key) for key in ("model_name", "name", "title"))
    name = next((value.strip() for value in names if isinstance(value, str) and value.strip()), None)
    configs = _endpoint_configs(data)
    if name is None and not configs and data.get("model_id") is None:
        return None
    merged: dict[str, ModelParameter] = {}
    for _, schema in configs:
        for parameter in _schema_parameters(schema):
            known = merged.get(parameter.name)
            if known is None:
                merged[parameter.name] = parameter
            elif parameter.required and not known.required:
                merged[parameter.name] = replace(known, required=True)
    endpoints = tuple(dict.fromkeys(label for label, _ in configs if label))
    reported_id = data.get("model_id")
    return ModelInfo(
        model_id=reported_id.strip() if isinstance(reported_id, str) and reported_id.strip() else model_id,
        name=name,
        endpoints=endpoints,
        parameters=merged,
    )
