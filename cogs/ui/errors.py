"""The one path from any error to the member's reply, for commands, buttons and views alike.

A refusal (`videobot.errors.Refused`) is answered with its own text. Anything unexpected is logged
with a short reference, and the member gets an apology that carries the same reference, so a
moderator can quote it and the owner can find the log line.
"""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from cogs.ui.access import audit_refused_term
from cogs.ui.embeds import timestamp
from cogs.ui.interaction import Interaction
from videobot.errors import Refused, is_outage
from videobot.jobs import CapReached, ChannelNotAllowed, CooldownActive
from videobot.moderation import MemberBlocked, TermNotAllowed

log = logging.getLogger(__name__)


def refusal_text(refusal: Refused) -> str:
    """The member's message for a refusal, with Discord formatting where the refusal carries data."""
    if isinstance(refusal, CapReached):
        return f"{refusal} ({timestamp(refusal.resets_at)})"
    if isinstance(refusal, CooldownActive):
        return f"{refusal} {timestamp(refusal.ready_at)}."
    if isinstance(refusal, ChannelNotAllowed) and refusal.allowed:
        return f"{refusal} Try {', '.join(f'<#{c}>' for c in refusal.allowed)}."
    if isinstance(refusal, MemberBlocked) and refusal.until is not None:
        return refusal.describe(f"{timestamp(refusal.until, 'f')} ({timestamp(refusal.until)})")
    return str(refusal)


def _unwrap(error: BaseException) -> BaseException:
    # discord.py wraps what a command raised; the member's answer depends on what was raised.
    while isinstance(error, app_commands.CommandInvokeError) and error.original is not None:
        error = error.original
    return error


def message_for(error: BaseException, *, source: str, interaction: Interaction) -> str:
    """What to tell the member about ``error``; logs it when it was not expected."""
    error = _unwrap(error)
    if isinstance(error, Refused):
        return refusal_text(error)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in a server only."
    if isinstance(error, app_commands.MissingPermissions | app_commands.BotMissingPermissions):
        return str(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        return f"I couldn't use `{error.value}` for this option. Nothing was changed."
    reference = secrets.token_hex(4)
    outage = is_outage(error)
    log.log(
        logging.WARNING if outage else logging.ERROR,
        "%s %s [ref %s] (guild=%s channel=%s user=%s interaction=%s)",
        source,
        "could not reach the database" if outage else "failed",
        reference,
        interaction.guild_id,
        interaction.channel_id,
        interaction.user.id,
        interaction.id,
        exc_info=error,
    )
    if outage:
        return (
            "The bot's database is not answering right now. Nothing was changed; try again in a minute "
            f"(reference `{reference}`)."
        )
    return (
        "Something went wrong on our side and it has been logged. If it keeps happening, "
        f"tell a moderator the reference `{reference}`."
    )


async def answer_error(interaction: Interaction, error: BaseException, *, source: str) -> None:
    """Answer the member about ``error``, whether or not the interaction was already deferred.

    A prompt refused for a blocked term is also told to the moderators (the member's answer never
    names the term; the audit line does).
    """
    await reply(interaction, message_for(error, source=source, interaction=interaction))
    refusal = _unwrap(error)
    if isinstance(refusal, TermNotAllowed):
        try:
            await audit_refused_term(interaction, refusal, source=source)
        except Exception:
            # The member has their answer; a lost audit line must not turn into a second error.
            log.warning("could not audit a refused prompt (interaction %s)", interaction.id, exc_info=True)


async def reply(interaction: Interaction, message: str) -> None:
    """Answer privately, whether or not the interaction was already deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not answer interaction %s", interaction.id, exc_info=True)
