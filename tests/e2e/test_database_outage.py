"""The database goes away while ``python bot.py`` runs (PostgreSQL behind a cuttable TCP proxy):
commands say "try again shortly" and change nothing, jobs wait, and everything resumes after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.e2e.conftest import START_BALANCE, World, make_world
from tests.e2e.invariants import assert_books_balance
from tests.fakes.tcp_proxy import TcpProxy
from tests.member import eventually, job_number

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
async def proxied() -> AsyncIterator[tuple[str, TcpProxy]]:
    """A fresh PostgreSQL database and a proxy in front of it: (URL through the proxy, proxy)."""
    url = await create_postgres_database()
    real = make_url(url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    await proxy.start()
    try:
        yield real.set(port=proxy.port).render_as_string(hide_password=False), proxy
    finally:
        await proxy.close()
        await drop_postgres_database(url)


@pytest.fixture
async def outage_world(tmp_path: Path, proxied: tuple[str, TcpProxy]) -> AsyncIterator[World]:
    async for world in make_world(tmp_path, proxied[0]):
        yield world


async def test_a_database_outage_pauses_everything_and_loses_nothing(
    outage_world: World, proxied: tuple[str, TcpProxy]
) -> None:
    world, (_url, proxy) = outage_world, proxied
    world.modelslab.render_seconds = 3
    bot = await world.start_bot()
    rendering = job_number(await world.run("video text", prompt="a lighthouse in fog", duration=4))
    await eventually(lambda: len(world.modelslab.submits()) == 1, what="the submit")

    await proxy.cut()
    answer = await world.run("video text", prompt="a second lighthouse", duration=4)
    assert "database is not answering" in answer and "Nothing was changed" in answer
    assert "database is not answering" in await world.run("credits balance")
    await eventually(lambda: "jobs wait until it answers" in bot.log(), what="one outage line in the log")
    await proxy.restore()

    video = await world.video(rendering, timeout=60)
    assert video.attachments
    assert bot.log().count("jobs wait until it answers") == 1
    assert await world.balance() == START_BALANCE - 40  # the refused command charged nothing
    after = job_number(await world.run("video text", prompt="after the storm", duration=4))
    await world.video(after, timeout=60)
    assert len(world.modelslab.submits()) == 2
    assert len(world.videos(rendering)) == 1
    await assert_books_balance(world.database_url)
    assert bot.running
