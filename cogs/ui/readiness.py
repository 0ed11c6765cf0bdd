"""What the bot needs in a channel and a server, checked (``/videobot setup``): each check says what
it found and, for a problem, the fix."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import discord

from cogs.ui.interaction import Interaction
from videobot.first_run import DefaultVideo, first_run_shortfall
from videobot.rulebook import ServerRules

MIB = 1024 * 1024


class Verdict(enum.Enum):
    """How a check came out."""

    OK = "✅"
    PROBLEM = "❌"
    NOTE = "ℹ️"  # not a problem, but worth knowing


@dataclass(frozen=True)
class Check:
    """One thing checked: what, the verdict, what was found, and how to fix it when it is a problem."""

    name: str
    verdict: Verdict
    found: str
    fix: str | None = None


# Discord's names for the permissions, as a server admin sees them in the channel settings.
_CHANNEL_PERMISSIONS = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("send_messages_in_threads", "Send Messages in Threads"),
    ("create_public_threads", "Create Public Threads"),
    ("embed_links", "Embed Links"),
    ("attach_files", "Attach Files"),
)


def setup_checks(interaction: Interaction, rules: ServerRules, videos: list[DefaultVideo]) -> list[Check]:
    """Every check, for the channel the command was used in and the server around it."""
    return [
        permissions_check(interaction.app_permissions),
        upload_check(interaction.filesize_limit),
        channels_check(interaction, rules),
        moderator_check(interaction.guild, rules),
        audit_check(interaction.guild, rules),
        pricing_check(rules, videos),
    ]


def permissions_check(permissions: discord.Permissions) -> Check:
    """The bot's permissions in this channel: each one it needs to post a video in a thread."""
    missing = [label for flag, label in _CHANNEL_PERMISSIONS if not getattr(permissions, flag)]
    granted = ", ".join(label for flag, label in _CHANNEL_PERMISSIONS if getattr(permissions, flag))
    if not missing:
        return Check("Permissions in this channel", Verdict.OK, f"All granted: {granted}.")
    return Check(
        "Permissions in this channel",
        Verdict.PROBLEM,
        f"Missing: {', '.join(missing)}." + (f" Granted: {granted}." if granted else ""),
        "Edit Channel → Permissions → add the bot's role and allow "
        f"{', '.join(missing)} (or grant them to the bot's role in Server Settings → Roles).",
    )


def upload_check(limit_bytes: int) -> Check:
    """The upload limit decides whether a video is uploaded or posted as a link."""
    limit = f"{limit_bytes / MIB:g} MiB"
    if limit_bytes <= 10 * MIB:
        return Check(
            "Upload limit",
            Verdict.NOTE,
            f"{limit}. Longer or 1080p videos are often larger: those are posted as a link that "
            "plays in Discord but stops working after about 24 hours.",
            "Server boosts raise the limit (level 2: 50 MiB, level 3: 100 MiB).",
        )
    return Check("Upload limit", Verdict.OK, f"{limit}: most videos are uploaded as files.")


def channels_check(interaction: Interaction, rules: ServerRules) -> Check:
    """Where videos may be made, and whether this channel is one of those places."""
    if not rules.allowed_channel_ids:
        return Check("Video channels", Verdict.OK, "Videos may be made in every channel.")
    parent = getattr(interaction.channel, "parent_id", None)
    here = [c for c in (interaction.channel_id, parent) if c is not None]
    guild = interaction.guild
    gone = [
        c for c in sorted(rules.allowed_channel_ids) if guild is not None and guild.get_channel(c) is None
    ]
    listed = ", ".join(f"<#{c}>" for c in sorted(rules.allowed_channel_ids))
    if gone:
        return Check(
            "Video channels",
            Verdict.PROBLEM,
            f"Allowed: {listed}; {len(gone)} of them no longer exist.",
            "Remove them with `/videobot settings channels remove`, or `clear` the list.",
        )
    if not rules.allows_channel(here):
        return Check(
            "Video channels",
            Verdict.PROBLEM,
            f"Allowed: {listed}. Videos cannot be made in this channel.",
            "`/videobot settings channels allow` this channel if members should make videos here.",
        )
    return Check("Video channels", Verdict.OK, f"Allowed: {listed} (this channel included).")


def moderator_check(guild: discord.Guild | None, rules: ServerRules) -> Check:
    """Who moderates: Manage Server, and the moderator role if one is set and still exists."""
    if rules.moderator_role_id is None:
        return Check(
            "Moderator role",
            Verdict.NOTE,
            "None: only members with Manage Server can grant credits, see usage and run campaigns.",
            "`/videobot settings moderator_role` gives a role those powers.",
        )
    if guild is not None and guild.get_role(rules.moderator_role_id) is None:
        return Check(
            "Moderator role",
            Verdict.PROBLEM,
            "The moderator role was deleted.",
            "Set another with `/videobot settings moderator_role`, or leave it empty.",
        )
    return Check("Moderator role", Verdict.OK, f"<@&{rules.moderator_role_id}> and Manage Server.")


def audit_check(guild: discord.Guild | None, rules: ServerRules) -> Check:
    """The audit channel exists and the bot can post there."""
    if rules.audit_channel_id is None:
        return Check(
            "Audit channel",
            Verdict.NOTE,
            "None: moderator actions and settings changes are not posted anywhere.",
            "`/videobot settings audit_channel` names a channel for them.",
        )
    where = f"<#{rules.audit_channel_id}>"
    channel = guild.get_channel(rules.audit_channel_id) if guild is not None else None
    if guild is not None and channel is None:
        return Check(
            "Audit channel",
            Verdict.PROBLEM,
            "The audit channel was deleted.",
            "Name another with `/videobot settings audit_channel`, or leave it empty.",
        )
    if channel is not None and guild is not None and guild.me is not None:
        perms = channel.permissions_for(guild.me)
        missing = [
            label
            for flag, label in (("view_channel", "View Channel"), ("send_messages", "Send Messages"))
            if not getattr(perms, flag)
        ]
        if missing:
            return Check(
                "Audit channel",
                Verdict.PROBLEM,
                f"{where}, but the bot lacks {', '.join(missing)} there.",
                f"Allow {', '.join(missing)} for the bot in {where}'s permissions.",
            )
    return Check("Audit channel", Verdict.OK, f"{where}: the bot can post there.")


def pricing_check(rules: ServerRules, videos: list[DefaultVideo]) -> Check:
    """What members pay, and whether a newcomer's starting credits cover a default video of each kind."""
    costs = "; ".join(f"`/video {v.kind}` ({v.model_id}, {v.settings}): {v.cost} credits" for v in videos)
    found = f"New members start with {rules.starting_balance} credits. Default videos: {costs}."
    if rules.daily_credit_cap:
        found += f" Daily cap: {rules.daily_credit_cap} credits."
    missing = first_run_shortfall(videos, rules.starting_balance)
    if missing:
        needed = rules.starting_balance + missing
        return Check(
            "What members pay",
            Verdict.PROBLEM,
            found + f" A newcomer cannot make one of each ({missing} credits short).",
            f"`/videobot settings starting_balance {needed}`, or lower the default models' prices with "
            "`/videobot settings price`.",
        )
    return Check("What members pay", Verdict.OK, found + " A newcomer can make one of each.")
