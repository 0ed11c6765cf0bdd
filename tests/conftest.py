"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when one is configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.migrate import upgrade_database
from videobot.config import normalise_database_url

POSTGRES_ENV = "TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    """The PostgreSQL server tests may create databases on, from TEST_POSTGRES_URL."""
    url = os.environ.get(POSTGRES_ENV)
    return normalise_database_url(url) if url else None


def _skip_or_fail(reason: str) -> None:
    # In CI a missing server is a broken run, not a reason to skip half the suite.
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
    pytest.skip(reason)


async def create_postgres_database() -> str:
    """Create an empty database for one test and return its SQLAlchemy URL."""
    admin = postgres_admin_url()
    if admin is None:
        _skip_or_fail(
            f"no PostgreSQL configured: set {POSTGRES_ENV}=postgresql://user@host:5432/db to run these"
        )
    assert admin is not None
    url = make_url(admin)
    name = f"videobot_test_{uuid.uuid4().hex[:12]}"
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError) as exc:
        _skip_or_fail(f"PostgreSQL at {url.host}:{url.port} is not answering ({exc.__class__.__name__})")
        raise
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(test_url: str) -> None:
    """Drop a database made by `create_postgres_database`."""
    url = make_url(test_url)
    admin = make_url(postgres_admin_url() or test_url)
    conn = await asyncpg.connect(admin.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[str]:
    """A migrated, empty database URL: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/videobot.db"
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database, with the schema migrated to head."""
    engine = create_engine(db_url)
    await upgrade_database(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    """A session factory on the migrated test database."""
    return create_session_factory(engine)
