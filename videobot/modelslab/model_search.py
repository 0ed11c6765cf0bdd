"""ModelsLab's model search: what the provider says a model is and takes (``GET /v6/model-search/{id}``).

Used only to check our catalog at start (``VERIFY_CATALOG=1``), never to block anything. The answer's
shape is documented only loosely ("the model's endpoint configuration with a ``parameters`` JSON
Schema"), so the reader looks for a ``parameters`` object wherever it is and reads the JSON Schema
``properties`` (types, enums, defaults) from it; an answer it cannot read says "found, nothing known"
rather than "mismatch". Unlike every other call, this one is a GET with the key in the query string,
so the URL is never logged and every error text is scrubbed of the key.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

import aiohttp

from videobot.modelslab.errors import InvalidKey, ModelsLabError, Transient

log = logging.getLogger(__name__)

_NOT_FOUND = re.compile(r"not found|does not exist|no such|no model|invalid model", re.IGNORECASE)
_KEY = re.compile(r"\bkey\b|unauthori[sz]ed", re.IGNORECASE)
_MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class ModelFacts:
    """What model search said about one model: whether it exists, and its request fields (JSON Schema
    ``properties``: field name → schema with ``enum``, ``type``, ``default``), empty when unknown."""

    model_id: str
    found: bool
    fields: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


async def search_model(
    session: aiohttp.ClientSession,
    *,
    base_url: str,
    api_key: str,
    model_id: str,
    within_seconds: float = 20.0,
) -> ModelFacts:
    """Ask model search about ``model_id``. Raises `InvalidKey`, or `Transient` for anything unreadable."""
    url = f"{base_url.rstrip('/')}/v6/model-search/{quote(model_id, safe='')}"
    try:
        async with session.get(
            url,
            params={"key": api_key},
            headers={"Accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=within_seconds),
        ) as response:
            status = response.status
            raw = await _read_limited(response)
    except (aiohttp.ClientError, TimeoutError) as exc:
        text = str(exc).replace(api_key, "[redacted]") or type(exc).__name__
        raise Transient(f"ModelsLab model-search {model_id}: {text}") from None
    try:
        body: object = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        body = None
    message = _message(body).replace(api_key, "[redacted]")
    if status == 401 or (
        isinstance(body, Mapping) and body.get("status") == "error" and _KEY.search(message)
    ):
        raise InvalidKey(f"ModelsLab model-search: {message or 'HTTP 401'}", http_status=status)
    if status == 404 or (
        isinstance(body, Mapping) and body.get("status") in ("error", "failed") and _NOT_FOUND.search(message)
    ):
        return ModelFacts(model_id, found=False)
    if status >= 400 or not isinstance(body, Mapping):
        raise Transient(
            f"ModelsLab model-search {model_id}: unexpected answer (HTTP {status})", http_status=status
        )
    if body.get("status") == "error":
        raise ModelsLabError(f"ModelsLab model-search {model_id}: {message}", http_status=status)
    return ModelFacts(model_id, found=True, fields=_fields(body))


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    """The whole body, or a `Transient` past `_MAX_BYTES` (a model's schema is a few kilobytes)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > _MAX_BYTES:
            raise Transient(f"ModelsLab model-search answered with more than {_MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _message(body: object) -> str:
    if not isinstance(body, Mapping):
        return ""
    for name in ("message", "messege", "error"):
        value = body.get(name)
        if isinstance(value, str):
            return value
    return ""


def _fields(body: Mapping[str, object]) -> dict[str, Mapping[str, object]]:
    """The ``properties`` of the first ``parameters`` JSON Schema found anywhere in the answer."""
    parameters = _find(body, "parameters", depth=0)
    if isinstance(parameters, str):
        # Some endpoints serialise the schema as a JSON string.
        try:
            parameters = json.loads(parameters)
        except ValueError:
            return {}
    if not isinstance(parameters, Mapping):
        return {}
    properties = parameters.get("properties", parameters)
    if not isinstance(properties, Mapping):
        return {}
    return {str(k): v for k, v in properties.items() if isinstance(v, Mapping)}


def _find(value: object, key: str, *, depth: int) -> object:
    if depth > 6:
        return None
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        children: list[object] = list(value.values())
    elif isinstance(value, list):
        children = list(value)
    else:
        return None
    for child in children:
        found = _find(child, key, depth=depth + 1)
        if found is not None:
            return found
    return None
