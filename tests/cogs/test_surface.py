"""The public command surface (design.md: "keep these names and option names"), pinned.

The commands are read from what the bot really registered with (fake) Discord, so a renamed command
or option fails here before it reaches a server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.cogs.conftest import Flow
from tests.member import GUILD

DESIGN = Path(__file__).resolve().parents[3] / "shared" / "docs" / "design.md"
SUBCOMMAND, GROUP = 1, 2

# Every command the bot offers, with its options in order. Change it together with README and design.md.
SURFACE: dict[str, list[str]] = {
    "video text": [
        "prompt",
        "model",
        "duration",
        "aspect_ratio",
        "generate_audio",
        "negative_prompt",
        "enhance_prompt",
        "audio",
        "campaign",
    ],
    "video image": ["image", "prompt", "audio", "model", "duration", "resolution", "campaign"],
    "video jobs": [],
    "video cancel": ["job"],
    "video help": [],
    "credits balance": ["member"],
    "credits history": ["member"],
    "credits prices": [],
    "credits grant": ["member", "amount", "reason"],
    "credits revoke": ["member", "amount", "reason"],
    "credits set": ["member", "amount", "reason"],
    "campaign create": [
        "name",
        "end",
        "credits",
        "start",
        "models",
        "prefix",
        "suffix",
        "gallery",
        "budget",
        "entries",
    ],
    "campaign join": ["name"],
    "campaign info": ["name"],
    "campaign list": [],
    "campaign end": ["name"],
    "campaign report": ["name"],
    "videobot setup": [],
    "videobot status": [],
    "videobot settings show": [],
    "videobot settings starting_balance": ["amount"],
    "videobot settings allowance": ["mode", "amount", "cap"],
    "videobot settings role_bonus": ["role", "amount"],
    "videobot settings price": ["model", "credits"],
    "videobot settings moderator_role": ["role"],
    "videobot settings audit_channel": ["channel"],
    "videobot settings channels": ["action", "channel"],
    "videobot settings member_jobs": ["limit"],
    "videobot settings daily_cap": ["credits"],
    "videobot usage": ["days"],
    "videobot blocklist add": ["term", "reason"],
    "videobot blocklist remove": ["term"],
    "videobot blocklist show": [],
    "videobot block": ["member", "reason", "duration"],
    "videobot unblock": ["member"],
    "videobot moderation log": ["member"],
}


def registered_surface(commands: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``{"video text": ["prompt", ...]}`` from the registered command payloads."""
    surface: dict[str, list[str]] = {}

    def walk(path: str, options: list[dict[str, Any]]) -> None:
        leaves = [o for o in options if o["type"] not in (SUBCOMMAND, GROUP)]
        nested = [o for o in options if o["type"] in (SUBCOMMAND, GROUP)]
        if not nested:
            surface[path] = [o["name"] for o in leaves]
        for option in nested:
            walk(f"{path} {option['name']}", option.get("options", []))

    for command in commands:
        walk(command["name"], command.get("options", []))
    return surface


def design_commands(text: str) -> list[list[str]]:
    """The commands design.md names in its command surface section, as word lists."""
    section = text.split("## Command surface", 1)[1].split("\n## ", 1)[0]
    return [code.split() for code in re.findall(r"`(/[^`]+)`", section) if "..." not in code]


async def test_the_registered_commands_are_exactly_the_documented_surface(flow: Flow) -> None:
    commands = flow.discord.registered_commands[GUILD]
    assert registered_surface(commands) == SURFACE
    by_name = {c["name"]: c for c in commands}
    # Settings and usage are hidden from members by default (and checked in the bot regardless).
    assert by_name["videobot"]["default_member_permissions"] == str(1 << 5)


async def test_every_command_and_option_has_a_description_and_translations_are_registered(flow: Flow) -> None:
    commands = flow.discord.registered_commands[GUILD]
    missing: list[str] = []

    def walk(path: str, item: dict[str, Any]) -> None:
        # discord.py registers "…" for a command or option nobody described.
        if item.get("description", "…") in ("", "…"):
            missing.append(path)
        for option in item.get("options", []):
            walk(f"{path} {option['name']}", option)

    for command in commands:
        walk(command["name"], command)
    assert missing == []
    by_name = {c["name"]: c for c in commands}
    video = by_name["video"]
    assert video["description"] == "Make AI videos"
    assert video["description_localizations"] == {
        "de": "KI-Videos erstellen",
        "fr": "Créer des vidéos par IA",
    }
    text = next(o for o in video["options"] if o["name"] == "text")
    assert text["description_localizations"]["fr"] == "Créer une vidéo à partir d'un texte"
    # Names are the public contract: never translated.
    assert not video.get("name_localizations")


def test_every_command_and_option_design_md_names_is_in_the_surface() -> None:
    if not DESIGN.exists():
        pytest.skip(f"{DESIGN} is not beside this checkout")
    named = design_commands(DESIGN.read_text())
    assert len(named) >= 8, "design.md's command list was not found"
    for words in named:
        words = [w.lstrip("/") for w in words]
        path = max(
            (" ".join(words[:n]) for n in range(1, len(words) + 1) if " ".join(words[:n]) in SURFACE),
            key=len,
            default=None,
        )
        assert path is not None, f"design.md names /{' '.join(words)}, which the bot does not offer"
        options = [w.strip("[]") for w in words[len(path.split()) :]]
        assert set(options) <= set(SURFACE[path]), f"/{path}: {options} vs {SURFACE[path]}"


def test_the_design_parser_reads_commands_and_options() -> None:
    text = (
        "## Command surface\n- `/video cancel job` and `/credits balance [member]`, `/campaign ...`\n## Next"
    )
    assert design_commands(text) == [["/video", "cancel", "job"], ["/credits", "balance", "[member]"]]
