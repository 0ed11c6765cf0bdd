"""Send times for Discord REST calls, reserved from one row per bot token that every process shares.

The row holds the next free send time. A reservation of ``count`` calls is one atomic
``INSERT … ON CONFLICT DO UPDATE … RETURNING``: the database moves the row on by ``count`` intervals
under its row lock, so two processes never get the same send time and together never send faster
than one call per interval (a generic cell rate algorithm whose state lives in the database). A
row left behind by an idle bot is simply in the past: the next reservation starts from now.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from storage.engine import SessionFactory
from storage.tables import RestBudget


async def reserve_send_times(
    sessions: SessionFactory, *, key: str, count: int, now_us: int, interval_us: int, tolerance_us: int
) -> int:
    """Reserve ``count`` consecutive send times, ``interval_us`` apart; return the first (µs since the epoch).

    The first is the row's next free time, or ``now_us - tolerance_us`` when that is later (an idle
    budget lets a few calls go at once, never a backlog of unused time). Commits at once.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    async with sessions() as session, session.begin():
        postgres = session.get_bind().dialect.name == "postgresql"
        insert = pg_insert if postgres else sqlite_insert
        greatest = func.greatest if postgres else func.max
        stmt = (
            insert(RestBudget)
            .values(key=key, next_free_us=now_us + count * interval_us)
            .on_conflict_do_update(
                index_elements=[col(RestBudget.key)],
                set_={
                    "next_free_us": greatest(col(RestBudget.next_free_us), now_us - tolerance_us)
                    + count * interval_us
                },
            )
            .returning(col(RestBudget.next_free_us))
        )
        next_free = int((await session.exec(stmt)).one()[0])
    return next_free - count * interval_us
