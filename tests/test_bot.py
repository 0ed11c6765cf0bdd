"""The composition root: start-up refusals and the log redaction."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot import EXTENSIONS, JsonFormatter, RedactingFormatter, TextFormatter, main, setup_logging
from videobot import logcontext

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


def _record(message: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom with key-456")
        except RuntimeError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("videobot.jobs", logging.WARNING, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_json_logs_are_one_object_per_line_with_job_and_guild_and_no_secrets() -> None:
    formatter = JsonFormatter(("tok-123", "key-456"))

    async def in_a_job_task() -> str:
        logcontext.bind(job=12, guild=34)
        return formatter.format(_record("job %s: token %s", 12, "tok-123", exc=True))

    line = asyncio.run(in_a_job_task())
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "videobot.jobs"
    assert entry["message"] == "job 12: token [redacted]"
    assert (entry["job_id"], entry["guild_id"]) == (12, 34)
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None
    assert "RuntimeError: boom with [redacted]" in entry["exception"]
    assert "tok-123" not in line and "key-456" not in line
    # Outside that task nothing is bound; extra= names them explicitly.
    plain = json.loads(formatter.format(_record("hello")))
    assert "job_id" not in plain and "guild_id" not in plain
    assert json.loads(formatter.format(_record("x", job_id=7)))["job_id"] == 7


def test_text_logs_stay_readable_and_name_the_job_where_known() -> None:
    formatter = TextFormatter("%(levelname)s %(name)s%(context)s: %(message)s", ("tok-123",))
    assert formatter.format(_record("plain")) == "WARNING videobot.jobs: plain"
    assert formatter.format(_record("sent %s", "tok-123", job_id=5, guild_id=6)) == (
        "WARNING videobot.jobs [job 5 guild 6]: sent [redacted]"
    )


def test_setup_logging_picks_the_format(monkeypatch: pytest.MonkeyPatch) -> None:
    from videobot.config import Config

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    level = root.level
    try:
        setup_logging(Config(discord_token="t", modelslab_api_key="k", log_format="json"))
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        setup_logging(Config(discord_token="t", modelslab_api_key="k"))
        assert isinstance(root.handlers[0].formatter, TextFormatter)
    finally:
        root.setLevel(level)
        logging.captureWarnings(False)
