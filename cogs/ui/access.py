"""Who is acting: members with their roles, the one notion of moderator, and the audit channel."""

from __future__ import annotations

import logging

import discord

from cogs.ui.interaction import Interaction
from videobot.credits import Member
from videobot.errors import Refused
from videobot.moderation import TermNotAllowed
from videobot.rulebook import ServerRules

log = logging.getLogger(__name__)

NOT_A_MODERATOR = (
    "Only moderators (Manage Server, or the server's moderator role) can do this. Nothing was changed."
)


def acting_member(interaction: Interaction) -> Member:
    """The member who used the command, with their roles."""
    assert interaction.guild_id is not None
    return as_member(interaction.guild_id, interaction.user)


def as_member(guild_id: int, user: discord.abc.User) -> Member:
    """A Discord user as the domain sees a member (roles only when Discord sent them)."""
    roles = tuple(role.id for role in getattr(user, "roles", ()))
    return Member(guild_id=guild_id, user_id=user.id, role_ids=roles)


def is_moderator(rules: ServerRules, interaction: Interaction) -> bool:
    """Manage Server, or the server's moderator role: the one notion of moderator, for commands and
    buttons alike (Discord's ``default_member_permissions`` is only a default that admins can change)."""
    return rules.is_moderator(
        manage_guild=interaction.permissions.manage_guild, role_ids=acting_member(interaction).role_ids
    )


async def require_moderator(interaction: Interaction, refusal: str = NOT_A_MODERATOR) -> ServerRules:
    """The server's rules, when the user is a moderator there; otherwise a refusal. Checked on every call."""
    assert interaction.guild_id is not None
    rules = await interaction.client.rulebook.rules(interaction.guild_id)
    if not is_moderator(rules, interaction):
        raise Refused(refusal)
    return rules


async def require_moderator_or_owner(interaction: Interaction) -> None:
    """A moderator of this server, or the bot's owner (who sees the bot's state wherever it is)."""
    assert interaction.guild_id is not None
    rules = await interaction.client.rulebook.rules(interaction.guild_id)
    if not is_moderator(rules, interaction) and not await interaction.client.is_owner(interaction.user):
        raise Refused("Only moderators and the bot's owner can see the bot's status.")


def require_manage_guild(interaction: Interaction) -> None:
    """Server settings are for Manage Server only (the moderator role does not reach them)."""
    if not interaction.permissions.manage_guild:
        raise Refused("Only members with Manage Server can change the bot's settings. Nothing was changed.")


async def post_audit(interaction: Interaction, rules: ServerRules, text: str) -> None:
    """Post a moderator action to the server's audit channel, when one is set (best effort)."""
    if rules.audit_channel_id is None:
        return
    try:
        await interaction.client.get_partial_messageable(rules.audit_channel_id).send(
            text, allowed_mentions=discord.AllowedMentions.none()
        )
    except discord.HTTPException:
        log.warning(
            "guild %s: could not post to the audit channel %s", rules.guild_id, rules.audit_channel_id
        )


async def audit_refused_term(interaction: Interaction, refusal: TermNotAllowed, *, source: str) -> None:
    """Tell the moderators (audit channel) that a member's prompt was refused for a blocked term: who,
    in which command, which term. At most one line per member per minute, so retries don't flood it."""
    if interaction.guild_id is None:
        return
    bot = interaction.client
    rules = await bot.rulebook.rules(interaction.guild_id)
    if rules.audit_channel_id is None or not bot.refusal_audits.allow(
        (interaction.guild_id, interaction.user.id)
    ):
        return
    term = discord.utils.escape_markdown(refusal.term)
    await post_audit(
        interaction,
        rules,
        f"🚫 {interaction.user.mention} was refused in {_command_words(source)}: the {refusal.part} "
        f"contains the blocked term “{term}”. Nothing was charged.",
    )


def _command_words(source: str) -> str:
    # ``/video text`` stays; ``button video:reroll:12`` reads as the button it was.
    if source.startswith("button video:reroll:"):
        return f"the Re-roll button of video #{source.rsplit(':', 1)[1]}"
    return f"`{source}`" if source.startswith("/") else source
