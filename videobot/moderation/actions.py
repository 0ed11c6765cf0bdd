"""The moderation log: every moderator action is one ``moderation_action`` row, newest first on read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import moderation as queries
from storage.states import ModerationActionKind
from storage.tables import ModerationAction

LOG_PAGE_SIZE = 10


@dataclass(frozen=True)
class ActionLogPage:
    """One page of a server's moderation log, newest first."""

    actions: list[ModerationAction]
    page: int  # 0-based
    pages: int
    total: int


async def record(
    session: AsyncSession,
    *,
    guild_id: int,
    actor_id: int,
    action: ModerationActionKind,
    at: datetime,
    target_user_id: int | None = None,
    job_id: int | None = None,
    term: str | None = None,
    reason: str | None = None,
    expires_at: datetime | None = None,
) -> ModerationAction:
    """Record one moderator action, in the caller's transaction (so it exists exactly when the action
    does)."""
    row = ModerationAction(
        guild_id=guild_id,
        actor_id=actor_id,
        action=action,
        target_user_id=target_user_id,
        job_id=job_id,
        term=term,
        reason=reason,
        expires_at=expires_at,
        created_at=at,
    )
    await queries.add_action(session, row)
    return row


async def log_page(session: AsyncSession, *, guild_id: int, user_id: int | None, page: int) -> ActionLogPage:
    """A page of the log (with ``user_id``: actions by or about that member); past the end, the last."""
    actions, total = await queries.actions_page(
        session, guild_id=guild_id, user_id=user_id, offset=max(page, 0) * LOG_PAGE_SIZE, limit=LOG_PAGE_SIZE
    )
    pages = max(1, -(-total // LOG_PAGE_SIZE))
    if page >= pages and total:
        return await log_page(session, guild_id=guild_id, user_id=user_id, page=pages - 1)
    return ActionLogPage(actions=actions, page=max(page, 0), pages=pages, total=total)
