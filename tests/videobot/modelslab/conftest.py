"""Fixtures for the ModelsLab client tests: the loopback fake and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.fakes.modelslab_server import FakeModelsLab
from videobot.modelslab import ModelsLabClient


@pytest.fixture
async def fake() -> AsyncIterator[FakeModelsLab]:
    # Jobs take a minute unless a test finishes them, so "still processing" never races the clock.
    async with FakeModelsLab(render_seconds=60.5, retry_after=12) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(fake: FakeModelsLab, session: aiohttp.ClientSession) -> ModelsLabClient:
    return ModelsLabClient(session, api_key=fake.api_key, base_url=fake.base_url, request_timeout=2.0)
