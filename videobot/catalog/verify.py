"""Checking the catalog against what ModelsLab says (``VERIFY_CATALOG=1``): a warning per mismatch.

The catalog is our own configuration and some of its facts are inferred (docs/modelslab-api.md), so
at start the bot can ask ModelsLab's model search about every model and option. A mismatch is logged,
never fatal: model search is a help, not the contract, and a bot must start even when it is down.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from videobot.catalog.catalog import Catalog, ModelSpec
from videobot.modelslab.errors import ModelsLabError, UnknownModel
from videobot.modelslab.model_search import ModelInfo

log = logging.getLogger(__name__)

#: Ask model search about one model id (`ModelsLabClient.model_search`); None: it knows no such model.
Lookup = Callable[[str], Awaitable[ModelInfo | None]]


def mismatches(model: ModelSpec, info: ModelInfo | None) -> list[str]:
    """What the catalog says about ``model`` that model search contradicts, one sentence each."""
    if info is None:
        return [f"model {model.id}: ModelsLab's model search does not know this model id"]
    fields = info.parameters
    if not fields:
        return []  # found, but nothing readable about its fields: nothing to compare
    problems = []
    offered = [
        ("duration", [str(d) for d in model.durations]),
        ("aspect_ratio", list(model.aspect_ratios)),
        ("resolution", list(model.resolutions)),
    ]
    for name, ours in offered:
        if not ours:
            continue
        if name not in fields:
            problems.append(f"model {model.id}: the catalog offers {name} but ModelsLab lists no such field")
            continue
        theirs = {str(value) for value in fields[name].choices} or None
        extra = [value for value in ours if theirs is not None and value not in theirs]
        if extra:
            problems.append(
                f"model {model.id}: the catalog offers {name} {', '.join(extra)}, "
                f"which ModelsLab does not list (it lists {', '.join(sorted(theirs or []))})"
            )
    for name in sorted(model.accepts):
        if name not in fields:
            problems.append(f"model {model.id}: the catalog sends {name} but ModelsLab lists no such field")
    return problems


async def verify_catalog(catalog: Catalog, lookup: Lookup) -> list[str]:
    """Ask model search about every model; log and return a warning per mismatch. Never raises."""
    found: list[str] = []
    for model in catalog.models():
        try:
            info = await lookup(model.id)
        except ModelsLabError as exc:
            log.warning("catalog check: could not ask ModelsLab about %s: %s", model.id, exc)
            continue
        for problem in mismatches(model, info):
            log.warning("catalog check: %s", problem)
            found.append(problem)
    log.info("catalog check done: %d models, %d mismatches", len(catalog.models()), len(found))
    return found


def lookup_with(search: Callable[[str], Awaitable[ModelInfo]]) -> Lookup:
    """A `Lookup` from the client's model search, an unknown model answering None."""

    async def lookup(model_id: str) -> ModelInfo | None:
        try:
            return await search(model_id)
        except UnknownModel:
            return None

    return lookup
