"""Bring the database schema up to date: ``python -m storage.migrate`` (the Procfile's release step).

`bot.py` calls `upgrade_database` at start too, so a fresh machine needs no separate step.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from dotenv import load_dotenv
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from videobot.config import DEFAULT_DATABASE_URL, ConfigError, normalise_database_url

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    """The Alembic configuration of this project, independent of the working directory."""
    config = Config(str(_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_ROOT / "storage" / "migrations"))
    return config


async def upgrade_database(engine: AsyncEngine) -> None:
    """Apply every migration not yet applied, in one transaction."""

    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
    log.info("database schema is up to date")


async def _main() -> int:
    load_dotenv()
    try:
        url = normalise_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
    finally:
        await engine.dispose()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(_main()))
