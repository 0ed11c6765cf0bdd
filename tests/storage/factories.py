"""Rows for storage tests, inserted directly."""

from __future__ import annotations

import itertools
from typing import Any

from storage.engine import SessionFactory
from storage.tables import Job

_interaction_ids = itertools.count(10_000)


async def insert_job(sessions: SessionFactory, **overrides: Any) -> Job:
    """Insert a job row with plausible defaults and return it."""
    values: dict[str, Any] = {
        "interaction_id": next(_interaction_ids),
        "guild_id": 111,
        "channel_id": 222,
        "user_id": 333,
        "kind": "text",
        "model_id": "veo-3.1-fast",
        "prompt": "a cat surfing",
        "settings": {},
        "cost": 8,
        "upload_limit": 10 * 1024 * 1024,
        "state": "queued",
    }
    values.update(overrides)
    job = Job(**values)
    async with sessions() as session, session.begin():
        session.add(job)
    return job
