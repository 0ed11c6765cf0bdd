"""The layers, enforced: data flows Discord → domain → storage and provider, never back.

- `videobot/` (the domain) imports neither discord, the cogs nor the composition root;
- `storage/` imports nothing of the layers above it;
- `cogs/` build no SQL and no HTTP: no database or HTTP library, no `storage` rows, no SQL text;
- `web/` (the HTTP interface, as `cogs/` is the Discord one) calls the domain: no discord, no cogs, no
  composition root, no storage or SQL.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "videobot": ("discord", "cogs", "bot"),
    "storage": ("videobot", "cogs", "bot", "discord"),
    "cogs": ("storage", "sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "aiohttp"),
    "web": ("discord", "cogs", "bot", "storage", "sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite"),
}
_SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE)


def imported_modules(source: str) -> set[str]:
    """Every module a source file imports, at any depth (also under ``TYPE_CHECKING``)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def violations(layer: str, source: str, *, type_checking_allowed: bool = False) -> list[str]:
    """What a source file of ``layer`` imports or contains that its layer must not."""
    tree = ast.parse(source)
    checked = source
    if type_checking_allowed:
        # Type hints may name a higher layer (cogs annotate with the bot class) without importing it.
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test) in (
                "TYPE_CHECKING",
                "typing.TYPE_CHECKING",
            ):
                node.body = [ast.Pass()]
        checked = ast.unparse(tree)
    found = [
        f"imports {module}"
        for module in sorted(imported_modules(checked))
        if any(module == banned or module.startswith(banned + ".") for banned in FORBIDDEN[layer])
    ]
    if layer in ("cogs", "web"):
        strings = [
            n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        found += [f"SQL text {s[:40]!r}" for s in strings if _SQL.search(s)]
    return found


def layer_files(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_is_below_it(layer: str) -> None:
    files = layer_files(layer)
    assert files, f"no modules found under {layer}/"
    problems = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := violations(layer, path.read_text(), type_checking_allowed=layer == "cogs"))
    }
    assert problems == {}


@pytest.mark.parametrize(
    ("layer", "source"),
    [
        ("videobot", "import discord"),
        ("videobot", "from cogs.ui.embeds import clip"),
        ("videobot", "def f():\n    from bot import VideoBot"),
        ("storage", "from videobot.jobs import JobState"),
        ("cogs", "from sqlalchemy import select"),
        ("cogs", "import aiohttp"),
        ("cogs", "from storage.tables import Job"),
        ("cogs", "QUERY = 'SELECT id FROM job WHERE state = 1'"),
        ("web", "import discord"),
        ("web", "from cogs.ui.embeds import clip"),
        ("web", "from storage.stats import ping"),
        ("web", "from bot import VideoBot"),
    ],
)
def test_the_checker_catches_each_kind_of_leak(layer: str, source: str) -> None:
    assert violations(layer, source, type_checking_allowed=True)


def test_the_checker_lets_type_hints_name_the_bot() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot import VideoBot\n"
    assert violations("cogs", source, type_checking_allowed=True) == []
    assert violations("videobot", source) == ["imports bot"]
