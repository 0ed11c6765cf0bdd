"""Bring the database schema up to date with the Alembic migrations in ``storage/migrations``.

`bot.py` calls `upgrade_database` at start, so a fresh machine needs no separate step; ``python bot.py
migrate`` (the Procfile's release step) runs only this.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import BigInteger, Integer
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeEngine

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parent.parent


def compare_type(
    context: MigrationContext,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Alembic's type comparison, except that SQLite's INTEGER counts as BIGINT.

    SQLite stores every integer in up to 64 bits whatever the declared type, and changing a
    declared type there means copying tables that other rows point at; so credits widened to
    BIGINT on PostgreSQL stay declared INTEGER on SQLite databases made before.
    """
    if (
        context.dialect.name == "sqlite"
        and isinstance(inspected_type, Integer)
        and isinstance(metadata_type, BigInteger)
    ):
        return False
    return None  # the default comparison


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
