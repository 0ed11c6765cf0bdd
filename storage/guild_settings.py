"""Queries on servers' settings."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.tables import GuildSettings


async def load(session: AsyncSession, *, guild_id: int) -> GuildSettings | None:
    """The server's settings row, or None when it has only defaults."""
    return await session.get(GuildSettings, guild_id)
