"""The migrations build exactly the schema the tables describe, on both databases."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import storage.tables  # noqa: F401
from storage.engine import create_engine
from storage.migrate import alembic_config, compare_type, upgrade_database


async def test_migrated_schema_matches_the_tables(engine: AsyncEngine) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": compare_type})  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_upgrading_twice_is_harmless(engine: AsyncEngine) -> None:
    await upgrade_database(engine)
    await upgrade_database(engine)


INSERT_INPUT = "INSERT INTO job_input (job_id, role, mime, filename, data) VALUES"


async def test_upgrading_a_populated_database_keeps_inputs_and_amounts(db_url: str) -> None:
    """0006 moves each input's bytes into stored_file once per content, and widens credits to BIGINT."""
    engine = create_engine(db_url)

    def run(connection: Connection, revision: str) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(run, "0004")
            now = datetime(2026, 12, 1, tzinfo=UTC)
            for job_id in (1, 2):
                await connection.execute(
                    text(
                        "INSERT INTO job (id, interaction_id, guild_id, channel_id, user_id, kind,"
                        " model_id, prompt, settings, cost, upload_limit, state, submit_attempts,"
                        " poll_count, created_at, updated_at) VALUES (:id, :i, 1, 2, 3, 'image',"
                        " 'wan2.6-i2v', 'p', '{}', 30, 1, 'delivered', 0, 0, :now, :now)"
                    ),
                    {"id": job_id, "i": 100 + job_id, "now": now},
                )
                # The same picture in both jobs (a re-roll copied it), plus one audio track.
                await connection.execute(
                    text(f"{INSERT_INPUT} (:j, 'init_image', 'image/png', 'c.png', :d)"),
                    {"j": job_id, "d": b"\x89PNG same picture"},
                )
            await connection.execute(
                text(f"{INSERT_INPUT} (2, 'init_audio', 'audio/mpeg', 'b.mp3', :d)"),
                {"d": b"ID3 a beat"},
            )
            await connection.run_sync(run, "head")
            stored = (
                await connection.execute(text("SELECT sha256, mime, size, data FROM stored_file"))
            ).all()
            inputs = (
                await connection.execute(text("SELECT job_id, role, sha256 FROM job_input ORDER BY id"))
            ).all()
            cost = (await connection.execute(text("SELECT cost, catalog_cost FROM job WHERE id = 1"))).one()
            await connection.execute(text("UPDATE job SET cost = :big WHERE id = 1"), {"big": 2**40})
        picture = hashlib.sha256(b"\x89PNG same picture").hexdigest()
        assert sorted((row[0], row[1], row[2]) for row in stored) == sorted(
            [(picture, "image/png", 17), (hashlib.sha256(b"ID3 a beat").hexdigest(), "audio/mpeg", 10)]
        )
        assert [tuple(row) for row in inputs][:2] == [(1, "init_image", picture), (2, "init_image", picture)]
        assert tuple(cost) == (30, 30)
    finally:
        await engine.dispose()
