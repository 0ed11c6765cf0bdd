"""Queries on servers' own rules (the ``guild_settings`` table)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.tables import ServerRulesRow


async def load(session: AsyncSession, *, guild_id: int) -> ServerRulesRow | None:
    """The server's settings row, or None when it has only defaults."""
    return await session.get(ServerRulesRow, guild_id)
