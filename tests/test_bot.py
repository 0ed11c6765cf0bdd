"""The composition root: start-up refusals and the log redaction."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import EXTENSIONS, RedactingFormatter, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("env", "named"),
    [({}, "DISCORD_TOKEN"), ({"DISCORD_TOKEN": "abc"}, "MODELSLAB_API_KEY")],
)
def test_a_missing_secret_stops_the_bot_with_one_line(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py")],
        cwd=tmp_path,  # no .env here
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert named in lines[0]
    assert not (tmp_path / "data").exists()  # nothing was created


def test_main_reads_the_configuration_from_the_given_environment(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"DISCORD_TOKEN": "x", "MODELSLAB_API_KEY": "y", "MAX_JOBS_IN_FLIGHT": "many"}
    assert main([], env=env) == 2
    assert "MAX_JOBS_IN_FLIGHT must be a whole number" in capsys.readouterr().err


def test_an_unknown_argument_is_refused_with_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrat"], env={}) == 2
    assert "usage: python bot.py [migrate]" in capsys.readouterr().err


def test_migrate_brings_the_schema_up_to_date_and_stops(tmp_path: Path) -> None:
    database = tmp_path / "db" / "videobot.db"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "migrate"],
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DISCORD_TOKEN": "release-token",
            "MODELSLAB_API_KEY": "release-key",
            "DATABASE_URL": f"sqlite:///{database}",
            # Nothing answers here: the release step must not try to reach Discord.
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"job", "account", "ledger_entry", "campaign", "alembic_version"} <= tables


def test_secrets_are_redacted_from_log_lines_and_tracebacks() -> None:
    formatter = RedactingFormatter("%(message)s", ("tok-123", "key-456"))
    try:
        raise RuntimeError("request with key-456 failed")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s", ("tok-123",), sys.exc_info())
    text = formatter.format(record)
    assert "tok-123" not in text
    assert "key-456" not in text
    assert text.startswith("token [redacted]")
    assert "RuntimeError: request with [redacted] failed" in text


def test_every_extension_is_a_module_with_setup() -> None:
    import importlib

    for name in EXTENSIONS:
        module = importlib.import_module(name)
        assert callable(module.setup)
