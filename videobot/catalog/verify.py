"""Checking the catalog against what ModelsLab says (``VERIFY_CATALOG=1``): a warning per mismatch.

The catalog is our own configuration and some of its facts are inferred (docs/modelslab-api.md), so
at start the bot can ask ModelsLab's model search about every model and option. A mismatch is logged,
never fatal: model search is a help, not the contract, and a bot must start even when it is down.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping

from videobot.catalog.catalog import Catalog, ModelSpec
from videobot.modelslab.errors import ModelsLabError
from videobot.modelslab.model_search import ModelFacts

log = logging.getLogger(__name__)

Lookup = Callable[[str], Awaitable[ModelFacts]]


def mismatches(model: ModelSpec, facts: ModelFacts) -> list[str]:
    """What the catalog says about ``model`` that model search contradicts, one sentence each."""
    if not facts.found:
        return [f"model {model.id}: ModelsLab's model search does not know this model id"]
    fields = facts.fields
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
        theirs = _enum(fields[name])
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
            facts = await lookup(model.id)
        except ModelsLabError as exc:
            log.warning("catalog check: could not ask ModelsLab about %s: %s", model.id, exc)
            continue
        for problem in mismatches(model, facts):
            log.warning("catalog check: %s", problem)
            found.append(problem)
    log.info("catalog check done: %d models, %d mismatches", len(catalog.models()), len(found))
    return found


def _enum(schema: Mapping[str, object]) -> set[str] | None:
    values = schema.get("enum")
    if not isinstance(values, Iterable) or isinstance(values, str | bytes):
        return None
    return {str(value) for value in values}
