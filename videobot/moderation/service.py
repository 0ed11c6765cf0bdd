"""The moderators' tools: blocked terms, member blocks, deleting videos, and the moderation log.

Whether the actor is a moderator is decided by the caller (the chat side knows permissions and roles;
`videobot.rulebook.ServerRules.is_moderator` is the rule). Each action and its moderation-log entry
are one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from storage import moderation as queries
from storage.engine import SessionFactory
from storage.states import ModerationActionKind
from storage.tables import BlockedTerm, MemberBlock
from storage.types import utcnow
from videobot.moderation import actions, removal
from videobot.moderation.actions import ActionLogPage
from videobot.moderation.blocklist import TERMS_MAX, check_term, normalise
from videobot.moderation.blocks import BlockResult, block_member, check_reason, parse_duration
from videobot.moderation.refusals import ModerationError
from videobot.moderation.removal import DeletedVideo

log = logging.getLogger(__name__)


class Moderation:
    """Blocked terms, member blocks, deleting videos and the moderation log of every server."""

    def __init__(self, sessions: SessionFactory, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    # -- blocked terms ------------------------------------------------------------------------------

    async def add_term(
        self, guild_id: int, term: str, *, actor_id: int, reason: str | None = None
    ) -> BlockedTerm:
        """Block a word or phrase in this server's prompts, negative prompts and campaign themes."""
        checked = check_term(term)
        reason = check_reason(reason)
        now = self._clock()
        try:
            async with self._sessions() as session, session.begin():
                existing = await queries.find_term(session, guild_id=guild_id, term_key=checked.key)
                if existing is not None:
                    raise _already_blocked(checked.shown, existing.term)
                if await queries.count_terms(session, guild_id=guild_id) >= TERMS_MAX:
                    raise ModerationError(
                        f"This server already blocks {TERMS_MAX} terms, the most it can have; remove "
                        "some first. Nothing was changed."
                    )
                row = BlockedTerm(
                    guild_id=guild_id,
                    term=checked.shown,
                    term_key=checked.key,
                    reason=reason,
                    created_by=actor_id,
                    created_at=now,
                )
                session.add(row)
                await actions.record(
                    session,
                    guild_id=guild_id,
                    actor_id=actor_id,
                    action=ModerationActionKind.BLOCKLIST_ADD,
                    term=checked.shown,
                    reason=reason,
                    at=now,
                )
        except IntegrityError:
            # Two moderators added the same term at once; the unique key let one of them in.
            raise _already_blocked(checked.shown, checked.shown) from None
        log.info("guild %s: term %s blocked by %s", guild_id, row.id, actor_id)
        return row

    async def remove_term(self, guild_id: int, term: str, *, actor_id: int) -> BlockedTerm:
        """Allow a blocked term again; the refusal says when it was not blocked."""
        key = " ".join(normalise(term).split())
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await queries.find_term(session, guild_id=guild_id, term_key=key)
            if row is None or row.id is None:
                raise ModerationError(
                    f"“{' '.join(term.split())}” is not a blocked term here. Nothing was changed."
                )
            await queries.delete_term(session, term_id=row.id)
            await actions.record(
                session,
                guild_id=guild_id,
                actor_id=actor_id,
                action=ModerationActionKind.BLOCKLIST_REMOVE,
                term=row.term,
                at=now,
            )
        log.info("guild %s: term %s allowed again by %s", guild_id, row.id, actor_id)
        return row

    async def terms(self, guild_id: int) -> list[BlockedTerm]:
        """The server's blocked terms, oldest first."""
        async with self._sessions() as session:
            return await queries.terms(session, guild_id=guild_id)

    # -- member blocks ------------------------------------------------------------------------------

    async def block(
        self,
        guild_id: int,
        user_id: int,
        *,
        actor_id: int,
        reason: str | None = None,
        duration: str | None = None,
    ) -> BlockResult:
        """Block a member from the bot in this server, for ``duration`` (``2h``, ``7d``...) or until
        unblocked; their videos still waiting in line are cancelled and refunded. Blocking a blocked
        member replaces the block (new reason and end)."""
        if user_id == actor_id:
            raise ModerationError("You can't block yourself. Nothing was changed.")
        length = parse_duration(duration) if duration and duration.strip() else None
        reason = check_reason(reason)
        now = self._clock()
        for attempt in range(2):
            try:
                async with self._sessions() as session, session.begin():
                    result = await block_member(
                        session,
                        guild_id=guild_id,
                        user_id=user_id,
                        actor_id=actor_id,
                        reason=reason,
                        expires_at=now + length if length else None,
                        now=now,
                    )
                break
            except IntegrityError:
                # Two moderators blocked the member at once; the second attempt replaces that block.
                if attempt:
                    raise
        log.info(
            "guild %s: member %s blocked by %s until %s", guild_id, user_id, actor_id, result.block.expires_at
        )
        return result

    async def unblock(self, guild_id: int, user_id: int, *, actor_id: int) -> MemberBlock:
        """Lift a member's block; the refusal says when they were not blocked."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            block = await queries.active_block(session, guild_id=guild_id, user_id=user_id, now=now)
            if block is None or block.id is None:
                raise ModerationError("That member is not blocked here. Nothing was changed.")
            await queries.delete_block(session, block_id=block.id)
            await actions.record(
                session,
                guild_id=guild_id,
                actor_id=actor_id,
                action=ModerationActionKind.UNBLOCK,
                target_user_id=user_id,
                at=now,
            )
        log.info("guild %s: member %s unblocked by %s", guild_id, user_id, actor_id)
        return block

    async def blocks(self, guild_id: int) -> list[MemberBlock]:
        """The blocks in force in the server (expired ones are over by themselves)."""
        async with self._sessions() as session:
            return await queries.active_blocks(session, guild_id=guild_id, now=self._clock())

    # -- deleting videos ----------------------------------------------------------------------------

    async def delete_video(
        self, job_id: int, *, guild_id: int, actor_id: int, moderator: bool, reason: str | None = None
    ) -> DeletedVideo:
        """Delete a finished video for its owner, or for a moderator (then recorded in the log)."""
        async with self._sessions() as session, session.begin():
            return await removal.delete_video(
                session,
                job_id=job_id,
                guild_id=guild_id,
                actor_id=actor_id,
                moderator=moderator,
                reason=reason,
                now=self._clock(),
            )

    # -- the log ------------------------------------------------------------------------------------

    async def log(self, guild_id: int, *, user_id: int | None = None, page: int = 0) -> ActionLogPage:
        """A page of the server's moderation log, newest first; with ``user_id``, the actions by or
        about that member."""
        async with self._sessions() as session:
            return await actions.log_page(session, guild_id=guild_id, user_id=user_id, page=page)


def _already_blocked(typed: str, stored: str) -> ModerationError:
    same = "" if typed == stored else f" (as “{stored}”)"
    return ModerationError(f"“{typed}” is already blocked here{same}. Nothing was changed.")
