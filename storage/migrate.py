"""Bring the database schema up to date with the Alembic migrations in ``storage/migrations``.

`bot.py` calls `upgrade_database` at start, so a fresh machine needs no separate step; ``python bot.py
migrate`` (the Procfile's release step) runs only this.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

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
