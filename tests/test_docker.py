"""The container files, checked without Docker (which cannot run here): the compose file parses and
wires the bot to a healthy PostgreSQL, the Dockerfile installs the pinned requirements and runs as a
non-root user, and the entrypoint script really runs the bot and the release migration."""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    joined = text.replace("\\\n", " ")
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        pairs.append((instruction.upper(), " ".join(arguments.split())))
    return pairs


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_the_image_is_slim_installs_the_pinned_requirements_and_runs_as_a_non_root_user() -> None:
    steps = dockerfile()
    froms = [args for instruction, args in steps if instruction == "FROM"]
    assert froms == ["python:3.11-slim"]
    runs = [args for instruction, args in steps if instruction == "RUN"]
    assert any("pip install -r requirements.txt" in run for run in runs)
    copies = [args for instruction, args in steps if instruction == "COPY"]
    # The requirements are copied (and installed) before the code, so a code change keeps that layer.
    assert copies.index("requirements.txt ./") < next(i for i, c in enumerate(copies) if c.endswith(". ."))
    users = [args for instruction, args in steps if instruction == "USER"]
    assert users, "the image must switch away from root"
    assert users[-1] not in ("root", "0")
    assert any("useradd" in run and users[-1] in run for run in runs)
    assert ("CMD", '["python", "bot.py"]') in steps
    assert ("ENTRYPOINT", '["./docker-entrypoint.sh"]') in steps


def test_the_build_context_leaves_secrets_and_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv", "data"} <= set(ignored)


def test_compose_runs_the_bot_against_a_healthy_postgresql_with_a_volume() -> None:
    services = compose()["services"]
    db, bot = services["db"], services["bot"]
    assert db["image"].startswith("postgres:")
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "postgres" in compose()["volumes"]
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["build"] == "."
    assert bot["env_file"] == ".env"
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql://videobot:")
    assert "@db:5432/videobot" in bot["environment"]["DATABASE_URL"]
    assert bot["environment"]["HTTP_PORT"] == "8080"
    assert "/healthz" in " ".join(bot["healthcheck"]["test"])
    # Published on the host's loopback only: health and metrics are not for the internet.
    assert bot["ports"] == ["127.0.0.1:8080:8080"]
    assert bot["restart"] == "unless-stopped"


def run_entrypoint(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The image's entrypoint as the image runs it, with the CMD appended when no arguments are given."""
    steps = dict(dockerfile())
    command = args or tuple(shlex.split(steps["CMD"].strip("[]").replace(",", " ").replace('"', "")))
    return subprocess.run(
        [str(ROOT / "docker-entrypoint.sh"), *command],
        cwd=ROOT,
        env={
            # `python` as the image has it: the interpreter running these tests.
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "HOME": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_entrypoint_runs_the_release_migration(tmp_path: Path) -> None:
    database = tmp_path / "release.db"
    result = run_entrypoint(
        tmp_path,
        "migrate",
        DISCORD_TOKEN="release-token",
        MODELSLAB_API_KEY="release-key",
        DATABASE_URL=f"sqlite:///{database}",
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"job", "ledger_entry", "alembic_version"} <= tables


def test_without_arguments_the_entrypoint_runs_the_bot(tmp_path: Path) -> None:
    # No secrets (empty, so no .env can fill them in): the bot itself answers, which shows that
    # `python bot.py` is what ran.
    result = run_entrypoint(tmp_path, DISCORD_TOKEN="")
    assert result.returncode == 2
    assert result.stderr.strip() == "videobot: DISCORD_TOKEN is not set: put it in the environment or in .env"
