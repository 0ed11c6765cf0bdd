"""Start-up problems, run as ``python bot.py``: one line saying what and where, never a traceback, exit 1
(a supervisor restarts the process; 2 stays for configuration errors)."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace

import discord
import pytest

from bot import StartupError, _stay_connected
from tests.fakes.discord_server import FakeDiscord
from videobot.config import Config

ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_bot(tmp_path: Path, **env: str) -> tuple[int, list[str]]:
    """Run ``python bot.py`` until it exits; its exit code and its stderr lines."""
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DISCORD_TOKEN": "startup-discord-token",
        "MODELSLAB_API_KEY": "startup-modelslab-key",
        "DATABASE_URL": f"sqlite:///{tmp_path}/data/videobot.db",
        "DATA_DIR": str(tmp_path / "data"),
        "DISCORD_API_BASE": f"http://127.0.0.1:{closed_port()}/api/v10",
        # Only errors: what the operator reads when the start fails must be the one line.
        "LOG_LEVEL": "ERROR",
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        cwd=tmp_path,
        env=full_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert stdout == b""
    lines = stderr.decode().strip().splitlines()
    assert process.returncode is not None
    return process.returncode, lines


def assert_one_line(code: int, lines: list[str], *expected: str) -> None:
    assert code == 1, lines
    assert len(lines) == 1, "\n".join(lines)
    assert "Traceback" not in lines[0]
    assert "cannot start: " in lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    assert "startup-discord-token" not in lines[0]
    assert "startup-modelslab-key" not in lines[0]


async def test_discord_unreachable_names_the_url(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{closed_port()}/api/v10"
    code, lines = await start_bot(tmp_path, DISCORD_API_BASE=api)
    assert_one_line(code, lines, f"cannot reach Discord at {api}")


async def test_a_refused_token_says_401_and_names_the_variable(tmp_path: Path) -> None:
    async with FakeDiscord(token="the-real-token") as discord:
        code, lines = await start_bot(
            tmp_path,
            DISCORD_API_BASE=discord.api_base,
            DISCORD_GATEWAY_URL=discord.gateway_url,
            DISCORD_TOKEN="a-wrong-token",
        )
        assert [r.path for r in discord.requests] == ["/users/@me"]  # refused at once, not retried
    assert_one_line(code, lines, "Discord refused the token (HTTP 401", "DISCORD_TOKEN")


async def test_an_unreachable_database_names_host_and_port_without_the_password(tmp_path: Path) -> None:
    port = closed_port()
    code, lines = await start_bot(
        tmp_path, DATABASE_URL=f"postgresql://videobot:db-secret-pw@127.0.0.1:{port}/videobot"
    )
    assert_one_line(code, lines, f"cannot reach the database at 127.0.0.1:{port}/videobot (DATABASE_URL)")
    assert "db-secret-pw" not in lines[0]


async def test_a_database_that_cannot_be_migrated_says_so(tmp_path: Path) -> None:
    database = tmp_path / "data" / "videobot.db"
    database.parent.mkdir()
    with sqlite3.connect(database) as connection:
        # A schema from a newer release (or another app): Alembic knows no such revision.
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    code, lines = await start_bot(tmp_path)
    assert_one_line(code, lines, "could not migrate the database at sqlite file", "9999_from_the_future")


async def test_a_broken_catalog_names_the_file_model_and_key(tmp_path: Path) -> None:
    catalog = tmp_path / "models.toml"
    packaged = (ROOT / "videobot" / "catalog" / "models.toml").read_text()
    # An operator's typo in a price key.
    catalog.write_text(packaged.replace('"8s" = 80', '"8 s" = 80', 1))
    code, lines = await start_bot(tmp_path, CATALOG_PATH=str(catalog))
    assert_one_line(code, lines, "the model catalog is invalid", str(catalog), "veo-3.1-fast", "'8 s'")
    assert not (tmp_path / "data").exists()  # refused before anything was created


async def test_a_taken_http_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, lines = await start_bot(tmp_path, HTTP_PORT=str(port))
    assert_one_line(code, lines, f"cannot serve HTTP on 127.0.0.1:{port} (HTTP_HOST/HTTP_PORT)")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HTTP_PORT", "70000", "HTTP_PORT must be a TCP port between 1 and 65535"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of text, json"),
        ("CATALOG_PATH", "/nowhere/models.toml", "CATALOG_PATH must name an existing file"),
    ],
)
async def test_configuration_errors_still_exit_2(tmp_path: Path, name: str, value: str, message: str) -> None:
    code, lines = await start_bot(tmp_path, **{name: value})
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith(f"videobot: {message}")


class _Refused:
    """A bot whose gateway connection ends the way Discord ends it for a fatal refusal."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def connect(self) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "line"),
    [
        # The bot asks for no privileged intent, so Discord has no reason to refuse one; if it ever
        # does (a changed intent, a policy change), the operator still gets one line and the fix.
        (discord.PrivilegedIntentsRequired(0), "Discord refused a privileged intent this bot asked for"),
        (
            discord.ConnectionClosed(SimpleNamespace(close_code=4004), shard_id=0),  # type: ignore[arg-type]
            "Discord's gateway (ws://gw.example/gateway) refused the token (4004): check DISCORD_TOKEN",
        ),
        (
            discord.ConnectionClosed(SimpleNamespace(close_code=4010), shard_id=0),  # type: ignore[arg-type]
            "Discord's gateway (ws://gw.example/gateway) closed the connection with code 4010",
        ),
    ],
)
async def test_fatal_gateway_refusals_become_one_line(error: BaseException, line: str) -> None:
    config = Config(discord_token="t", modelslab_api_key="k", discord_gateway_url="ws://gw.example/gateway")
    with pytest.raises(StartupError) as raised:
        await _stay_connected(_Refused(error), config)  # type: ignore[arg-type]
    assert str(raised.value).startswith(line)
