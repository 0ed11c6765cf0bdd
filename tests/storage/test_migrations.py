"""The migrations build exactly the schema the tables describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import storage.tables  # noqa: F401
from storage.migrate import upgrade_database


async def test_migrated_schema_matches_the_tables(engine: AsyncEngine) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_upgrading_twice_is_harmless(engine: AsyncEngine) -> None:
    await upgrade_database(engine)
    await upgrade_database(engine)
