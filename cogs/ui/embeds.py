"""How things look in Discord: the status message, job lists, histories, prices, settings, usage and
campaigns, as embeds."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import discord

from cogs.ui.readiness import Check, Verdict
from videobot.alerts import ProviderProblem
from videobot.campaigns import CampaignOverview, CampaignReport, CampaignStatus
from videobot.catalog import Catalog, InvalidRequest, PriceLine, ValidatedVideo
from videobot.credits import HistoryPage
from videobot.first_run import DefaultVideo
from videobot.jobs import CreatedJob, Job, JobState
from videobot.moderation import (
    ActionLogPage,
    BlockedTerm,
    MemberBlock,
    ModerationAction,
    ModerationActionKind,
)
from videobot.rulebook import ServerRules
from videobot.status import StatusReport
from videobot.usage import UsageReport

_COLOURS = {
    JobState.QUEUED: discord.Colour.light_grey(),
    JobState.SUBMITTING: discord.Colour.blurple(),
    JobState.PROCESSING: discord.Colour.blurple(),
    JobState.DELIVERING: discord.Colour.blurple(),
    JobState.DELIVERED: discord.Colour.green(),
    JobState.FAILED: discord.Colour.red(),
    JobState.CANCELLED: discord.Colour.dark_grey(),
    JobState.TIMED_OUT: discord.Colour.orange(),
}

_EMBED_TEXT_LIMIT = 1024


def timestamp(when: datetime, style: str = "R") -> str:
    """A Discord timestamp that every member sees in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"


def escape(text: str) -> str:
    """Member text shown under the bot's name: no markdown, and no masked link (``[x](url)``)
    can render from it (who may be pinged is decided by ``allowed_mentions``, never by the text)."""
    return discord.utils.escape_markdown(text)


class Phase(enum.Enum):
    """What a status message tells the member, which is coarser than the job's state: sending,
    rendering and uploading all read "rendering", so only changes a member cares about are edits."""

    WAITING = "waiting"
    RENDERING = "rendering"
    ENDED = "ended"

    @classmethod
    def of(cls, job: Job) -> Phase:
        """The phase a job's state shows as."""
        if job.state.is_final:
            return cls.ENDED
        return cls.WAITING if job.state is JobState.QUEUED else cls.RENDERING


PAUSED_NOTE = (
    "Video making is paused: the bot's ModelsLab account needs a top-up. Your video keeps its place "
    "in line and starts once it is topped up; nothing is charged twice (`/video cancel` refunds it)."
)


@dataclass(frozen=True)
class StatusView:
    """What the status message shows besides the job row: its phase, place in line, expected times."""

    phase: Phase
    queue_position: int | None = None
    expected_start: datetime | None = None
    expected_finish: datetime | None = None
    # Submitting is paused (the bot's ModelsLab account has no funds): no time can be promised.
    paused: bool = False

    @classmethod
    def for_new(
        cls, created: CreatedJob, catalog: Catalog, *, provider_limit: int, paused: bool = False
    ) -> StatusView:
        """A job just accepted: "rendering" if it starts at once (a provider slot is free and nothing
        is ahead of it), else its place in line, with times estimated from the model's usual render."""
        job = created.job
        if paused:
            return cls(Phase.WAITING, created.queue_position, paused=True)
        render = timedelta(seconds=_typical_render(job, catalog))
        if created.queue_position <= max(0, provider_limit - created.at_provider):
            return cls(Phase.RENDERING, expected_finish=job.created_at + render)
        # Jobs go out provider_limit at a time: this one starts after the rounds ahead of it.
        rounds = math.ceil((created.queue_position + created.at_provider - provider_limit) / provider_limit)
        start = job.created_at + render * max(1, rounds)
        return cls(Phase.WAITING, created.queue_position, start, start + render)

    @classmethod
    def for_job(cls, job: Job, catalog: Catalog) -> StatusView:
        """A job's phase as the runner reports it, with ModelsLab's ETA once it is rendering."""
        phase = Phase.of(job)
        if phase is Phase.RENDERING:
            finish = job.next_poll_at if job.poll_count == 0 and job.next_poll_at else None
            if finish is None and job.submitted_at is not None:
                finish = job.submitted_at + timedelta(seconds=_typical_render(job, catalog))
            return cls(phase, expected_finish=finish)
        return cls(phase)


def _typical_render(job: Job, catalog: Catalog) -> int:
    return catalog.get(job.model_id).typical_render_seconds if job.model_id in catalog else 120


def status_embed(job: Job, catalog: Catalog, *, view: StatusView | None = None) -> discord.Embed:
    """The job's status message: prompt, model, settings, cost, owner, where it stands, and when it
    is expected to start or finish (Discord timestamps, which count down by themselves)."""
    state = job.state
    view = view or StatusView.for_job(job, catalog)
    deleted = job.deleted_at is not None
    label = "Rendering" if view.phase is Phase.RENDERING else state.label
    embed = discord.Embed(
        title=f"Video #{job.id} · {'Deleted' if deleted else label}",
        # A deleted video's prompt is not shown again (the owner or a moderator removed it).
        description="*deleted*" if deleted else clip(escape(job.prompt), 4000),
        colour=discord.Colour.dark_grey() if deleted else _COLOURS[state],
    )
    embed.add_field(name="Owner", value=f"<@{job.user_id}>")
    embed.add_field(name="Cost", value=f"{job.cost} credits")
    for name, value in _settings(job, catalog):
        if name == "Negative prompt":
            if deleted:
                continue
            value = clip(escape(value))
        embed.add_field(name=name, value=value)
    if not deleted:
        for name, value in _progress(job, view):
            embed.add_field(name=name, value=value, inline=False)
    if state in (JobState.FAILED, JobState.TIMED_OUT, JobState.CANCELLED) and job.failure_reason:
        embed.add_field(
            name="What happened",
            value=clip(f"{job.failure_reason} {job.cost} credits refunded.", 1024),
            inline=False,
        )
    embed.set_footer(text=f"job {job.id}")
    embed.timestamp = job.created_at
    return embed


def _progress(job: Job, view: StatusView) -> list[tuple[str, str]]:
    """Where the job stands, in fields: place in line, expected start or finish, how long it took."""
    if view.phase is Phase.WAITING:
        lines = (
            [(f"In line: #{view.queue_position}", "waiting for a free slot")] if view.queue_position else []
        )
        if view.paused:
            lines.append(("Paused", PAUSED_NOTE))
            return lines
        if view.expected_start is not None:
            lines.append(("Expected to start", timestamp(view.expected_start)))
        return lines
    if view.phase is Phase.RENDERING:
        started = job.submitted_at or job.created_at
        lines = [("Started", timestamp(started))]
        if view.expected_finish is not None:
            lines.append(("Expected to be ready", timestamp(view.expected_finish)))
        return lines
    if job.state is JobState.DELIVERED and job.finished_at is not None:
        return [("Made in", _duration(job.finished_at - job.created_at))]
    return []


def _duration(span: timedelta) -> str:
    seconds = max(0, round(span.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def job_list_embed(jobs: list[Job], guild_id: int) -> discord.Embed:
    """A member's recent jobs, newest first."""
    embed = discord.Embed(title="Your recent videos", colour=discord.Colour.blurple())
    if not jobs:
        embed.description = "You have no videos yet. Try `/video text`."
        return embed
    lines = []
    for job in jobs:
        state = job.state
        line = f"**#{job.id}** · {job.model_id} · {state.label} · {job.cost} cr · {timestamp(job.created_at)}"
        where = job.thread_id or job.channel_id
        if job.deleted_at is not None:
            line += " · deleted"
        elif job.result_message_id:
            line += f" · [video](https://discord.com/channels/{guild_id}/{where}/{job.result_message_id})"
        elif job.thread_id:
            line += f" · <#{job.thread_id}>"
        lines.append(line)
    embed.description = clip_lines(lines, 4096)
    return embed


def _settings(job: Job, catalog: Catalog) -> list[tuple[str, str]]:
    try:
        return ValidatedVideo.from_record(catalog, job.settings).settings_summary()
    except (InvalidRequest, ValueError):
        return [("Model", job.model_id)]


def clip(text: str, limit: int = _EMBED_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_lines(lines: list[str], limit: int = _EMBED_TEXT_LIMIT, *, more: str = "… and {n} more") -> str:
    """As many whole lines as fit in ``limit`` characters, then a line saying how many were left out."""
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        left = len(lines) - index
        tail = len(more.format(n=left)) + 1 if left > 1 else 0
        if size + len(line) + 1 + tail > limit:
            kept.append(more.format(n=left))
            break
        kept.append(line)
        size += len(line) + 1
    return clip("\n".join(kept), limit)


def clip_items(items: list[str], limit: int = _EMBED_TEXT_LIMIT) -> str:
    """Items joined by commas, as many whole ones as fit (a mention cut in half would show as text),
    then how many more there are."""
    shown: list[str] = []
    for index, item in enumerate(items):
        more = f" … and {len(items) - index} more" if index < len(items) - 1 else ""
        if len(", ".join([*shown, item])) + len(more) > limit:
            return ", ".join(shown) + f" … and {len(items) - index} more"
        shown.append(item)
    return ", ".join(shown)


_KIND_WORDS = {
    "start": "starting balance",
    "debit": "video",
    "refund": "refund",
    "grant": "granted",
    "revoke": "revoked",
    "set": "set by a moderator",
    "allowance": "daily allowance",
}


def history_embed(page: HistoryPage, user_id: int) -> discord.Embed:
    """One page of a member's ledger: amount, kind, job, who, why, when; newest first."""
    embed = discord.Embed(title="Credit history", colour=discord.Colour.blurple())
    if not page.entries:
        embed.description = f"<@{user_id}> has no credit history yet."
        return embed
    lines = []
    for entry in page.entries:
        parts = [f"**{entry.amount:+d}**", _KIND_WORDS.get(entry.kind, entry.kind)]
        if entry.job_id is not None:
            parts.append(f"video #{entry.job_id}")
        if entry.actor_id is not None:
            parts.append(f"by <@{entry.actor_id}>")
        if entry.reason and entry.kind not in ("debit", "refund", "allowance"):
            parts.append(f"“{clip(escape(entry.reason), 120)}”")
        parts.append(timestamp(entry.created_at))
        lines.append(" · ".join(parts) + f" → {entry.balance_after}")
    embed.description = f"<@{user_id}>\n" + "\n".join(lines)
    embed.set_footer(text=f"Page {page.page + 1} of {page.pages} · {page.total} entries")
    return embed


def prices_embed(lines: list[PriceLine]) -> discord.Embed:
    """The price list as this server sees it, one field per model."""
    embed = discord.Embed(title="Video prices in credits", colour=discord.Colour.blurple())
    by_model: dict[str, list[PriceLine]] = {}
    for line in lines:
        by_model.setdefault(line.model_id, []).append(line)
    for model_id, model_lines in list(by_model.items())[:25]:
        kind = "text" if model_lines[0].kind == "text" else "image"
        marker = " (this server's price)" if any(line.overridden for line in model_lines) else ""
        value = "\n".join(f"{line.settings}: **{line.credits}**" for line in model_lines)
        embed.add_field(name=f"{model_id} · /video {kind}{marker}", value=clip(value), inline=False)
    return embed


def settings_embed(
    rules: ServerRules, *, default_starting_balance: int, blocks: list[MemberBlock] | None = None
) -> discord.Embed:
    """Every server setting, with the defaults said as such, and the members blocked from the bot."""
    embed = discord.Embed(title="Video bot settings", colour=discord.Colour.blurple())
    default = " (bot default)" if rules.starting_balance == default_starting_balance else ""
    embed.add_field(name="Starting balance", value=f"{rules.starting_balance} credits{default}")
    embed.add_field(
        name="Daily allowance",
        value=rules.allowance_mode.describe(rules.allowance_amount, rules.allowance_cap),
    )
    bonuses = [f"<@&{role}> +{amount}" for role, amount in sorted(rules.role_bonuses.items())]
    embed.add_field(name="Role bonuses", value=clip_items(bonuses) or "none")
    prices = [f"{model}: {price}" for model, price in sorted(rules.price_overrides.items())]
    embed.add_field(name="Price overrides", value=clip_items(prices) or "none (catalog prices)")
    embed.add_field(
        name="Moderator role", value=f"<@&{rules.moderator_role_id}>" if rules.moderator_role_id else "none"
    )
    embed.add_field(
        name="Audit channel", value=f"<#{rules.audit_channel_id}>" if rules.audit_channel_id else "none"
    )
    places = [f"<#{c}>" for c in sorted(rules.allowed_channel_ids)]
    embed.add_field(name="Video channels", value=clip_items(places) or "everywhere")
    member_jobs = str(rules.max_jobs_per_member or "no limit")
    embed.add_field(
        name="Videos in progress per member",
        value=f"{member_jobs} (bot default)" if rules.member_jobs_is_default else member_jobs,
    )
    embed.add_field(
        name="Daily credit cap",
        value=f"{rules.daily_credit_cap} credits" if rules.daily_credit_cap else "none",
    )
    if blocks is not None:
        embed.add_field(name=f"Blocked members ({len(blocks)})", value=_blocked_list(blocks), inline=False)
    return embed


def _blocked_list(blocks: list[MemberBlock]) -> str:
    if not blocks:
        return "none"
    lines = [f"<@{b.user_id}> {block_end(b.expires_at)}" for b in blocks]
    return clip_lines(lines, _EMBED_TEXT_LIMIT)


def block_end(until: datetime | None) -> str:
    """``until <time> (<in 2 hours>)``, or ``until unblocked``."""
    return f"until {timestamp(until, 'f')} ({timestamp(until)})" if until else "until unblocked"


def blocklist_embed(terms: list[BlockedTerm]) -> tuple[discord.Embed, bool]:
    """The server's blocked terms with who added them and why, and whether all of them fit (if not,
    the rest are counted and the caller attaches the whole list)."""
    embed = discord.Embed(title=f"Blocked terms ({len(terms)})", colour=discord.Colour.dark_red())
    if not terms:
        embed.description = "None. Add one with `/videobot blocklist add`."
        return embed, True
    lines = [term_line(t) for t in terms]
    embed.description = clip_lines(lines, 4000)
    embed.set_footer(
        text="Matched as whole words or phrases, ignoring case, accents and invisible characters, in "
        "prompts, negative prompts and campaign themes."
    )
    return embed, len("\n".join(lines)) <= 4000


def term_line(term: BlockedTerm) -> str:
    """One blocked term: the term, who added it, when, and why."""
    reason = f" · “{discord.utils.escape_markdown(clip(term.reason, 100))}”" if term.reason else ""
    return (
        f"**{discord.utils.escape_markdown(term.term)}** · <@{term.created_by}> "
        f"{timestamp(term.created_at)}{reason}"
    )


def moderation_log_embed(page: ActionLogPage, user_id: int | None) -> discord.Embed:
    """One page of the moderation log, newest first."""
    embed = discord.Embed(title="Moderation log", colour=discord.Colour.dark_red())
    about = f"<@{user_id}>: actions by or about them\n" if user_id else ""
    if not page.actions:
        embed.description = about + "No moderator actions yet."
        return embed
    embed.description = about + "\n".join(action_line(a) for a in page.actions)
    embed.set_footer(text=f"Page {page.page + 1} of {page.pages} · {page.total} actions")
    return embed


def action_line(action: ModerationAction) -> str:
    """One moderator action in words: when, who, what, why."""
    target = f"<@{action.target_user_id}>"
    term = f"“{discord.utils.escape_markdown(action.term or '')}”"
    what = {
        ModerationActionKind.BLOCKLIST_ADD: f"blocked the term {term}",
        ModerationActionKind.BLOCKLIST_REMOVE: f"allowed the term {term} again",
        ModerationActionKind.BLOCK: f"blocked {target} {block_end(action.expires_at)}",
        ModerationActionKind.UNBLOCK: f"unblocked {target}",
        ModerationActionKind.DELETE_VIDEO: f"deleted video #{action.job_id} by {target}",
        ModerationActionKind.DISMISS_REPORT: f"dismissed a report of video #{action.job_id} by {target}",
    }[action.action]
    reason = f" · “{discord.utils.escape_markdown(clip(action.reason, 120))}”" if action.reason else ""
    return f"{timestamp(action.created_at)} <@{action.actor_id}> {what}{reason}"


def usage_embed(report: UsageReport, days: int) -> discord.Embed:
    """The moderators' usage report."""
    embed = discord.Embed(
        title=f"Usage, last {days} day{'s' if days != 1 else ''}",
        description=f"{report.total_jobs} videos, {report.total_credits} credits spent (refunds excluded).",
        colour=discord.Colour.blurple(),
    )
    # Newest first, so the days that fit are the recent ones; the chart shows every day.
    per_day = [f"`{d.day:%Y-%m-%d}` {d.jobs} videos · {d.credits} credits" for d in reversed(report.days)]
    embed.add_field(
        name="Per day (UTC), newest first",
        value=clip_lines(per_day, more="…{n} earlier days in the chart"),
        inline=False,
    )
    top = "\n".join(f"<@{m.user_id}>: {m.credits} credits, {m.jobs} videos" for m in report.top_members)
    embed.add_field(name="Top members", value=top or "nobody yet", inline=False)
    outcome_words = [
        (JobState.DELIVERED, "delivered"),
        (JobState.FAILED, "failed"),
        (JobState.TIMED_OUT, "timed out"),
        (JobState.CANCELLED, "cancelled"),
    ]
    outcomes = ", ".join(f"{report.outcomes.get(state, 0)} {word}" for state, word in outcome_words)
    embed.add_field(
        name="Outcomes", value=f"{outcomes}; {report.refunded_credits} credits refunded", inline=False
    )
    running = "\n".join(
        f"#{j.id} · <@{j.user_id}> · {j.model_id} · {j.state.label}" for j in report.running[:15]
    )
    embed.add_field(
        name=f"Running now ({len(report.running)})", value=clip(running) or "nothing", inline=False
    )
    return embed


def campaign_report_embed(report: CampaignReport) -> discord.Embed:
    """Participants, entries, credits spent and the top entries by votes."""
    campaign = report.campaign
    embed = discord.Embed(title=clip(f"{escape(campaign.name)}: results", 256), colour=discord.Colour.gold())
    embed.description = f"{timestamp(campaign.starts_at, 'f')} to {timestamp(campaign.ends_at, 'f')}"
    embed.add_field(name="Participants", value=str(report.participants))
    embed.add_field(name="Entries", value=str(report.entries))
    embed.add_field(name="Credits spent", value=str(report.credits_spent))
    lines = []
    for place, ranked in enumerate(report.top, start=1):
        job = ranked.job
        where = campaign.gallery_channel_id if job.gallery_message_id else (job.thread_id or job.channel_id)
        message = job.gallery_message_id or job.result_message_id
        link = f" · [watch](https://discord.com/channels/{job.guild_id}/{where}/{message})" if message else ""
        if job.deleted_at is not None:
            link = " · deleted"
        votes = f"{ranked.votes} vote{'s' if ranked.votes != 1 else ''}"
        lines.append(f"{place}. #{job.id} by <@{job.user_id}> · {votes}{link}")
    embed.add_field(name="Top entries", value=clip("\n".join(lines)) if lines else "no entries", inline=False)
    return embed


def campaigns_embed(overviews: list[CampaignOverview]) -> discord.Embed:
    """Running, upcoming and past campaigns with the member's campaign credits."""
    embed = discord.Embed(title="Campaigns", colour=discord.Colour.gold())
    if not overviews:
        embed.description = "No campaigns here yet."
        return embed
    for view in overviews[:25]:
        c = view.campaign
        if view.status is CampaignStatus.RUNNING:
            when = f"running, ends {timestamp(c.ends_at)}"
        elif view.status is CampaignStatus.UPCOMING:
            when = f"starts {timestamp(c.starts_at)}"
        else:
            when = f"ended {timestamp(c.ends_at)}"
        mine = (
            "not joined"
            if view.wallet is None
            else f"{view.wallet} campaign credits left, {view.entries} entries"
        )
        embed.add_field(name=clip(escape(c.name), 256), value=f"{when} · {mine}", inline=False)
    return embed


def campaign_embed(view: CampaignOverview) -> discord.Embed:
    """One campaign in full, as the member sees it."""
    c = view.campaign
    embed = discord.Embed(title=clip(escape(c.name), 256), colour=discord.Colour.gold())
    embed.add_field(name="Status", value=view.status.value)
    embed.add_field(name="Starts", value=f"{timestamp(c.starts_at, 'F')} ({timestamp(c.starts_at)})")
    embed.add_field(name="Ends", value=f"{timestamp(c.ends_at, 'F')} ({timestamp(c.ends_at)})")
    embed.add_field(name="Credits per participant", value=str(c.credits_per_member))
    embed.add_field(name="Models", value=", ".join(c.allowed_models) or "all")
    theme = " … ".join(p for p in (c.prompt_prefix, c.prompt_suffix) if p)
    embed.add_field(name="Theme", value=clip(escape(theme)) if theme else "none")
    embed.add_field(name="Gallery", value=f"<#{c.gallery_channel_id}>" if c.gallery_channel_id else "none")
    embed.add_field(name="Budget", value=str(c.budget) if c.budget else "none")
    embed.add_field(name="Entries per member", value=str(c.max_entries_per_member or "no limit"))
    mine = (
        "not joined"
        if view.wallet is None
        else f"{view.wallet} campaign credits left, {view.entries} entries"
    )
    embed.add_field(name="You", value=mine, inline=False)
    return embed


def setup_embed(checks: list[Check], channel_id: int | None) -> discord.Embed:
    """``/videobot setup``: each check with what was found and, for a problem, the fix."""
    problems = sum(1 for c in checks if c.verdict is Verdict.PROBLEM)
    embed = discord.Embed(
        title="Video bot setup",
        description=(
            f"Checked in <#{channel_id}> and this server: "
            + (
                f"**{problems} problem{'s' if problems != 1 else ''}** to fix."
                if problems
                else "everything the bot needs is in place."
            )
        ),
        colour=discord.Colour.red() if problems else discord.Colour.green(),
    )
    for check in checks[:25]:
        value = check.found + (f"\n**Fix:** {check.fix}" if check.fix else "")
        embed.add_field(name=f"{check.verdict.value} {check.name}", value=clip(value), inline=False)
    return embed


_PROBLEM_WORDS = {
    ProviderProblem.LOW_FUNDS: "wallet below the alert level",
    ProviderProblem.NO_FUNDS: "ModelsLab refused a job for lack of funds (402)",
    ProviderProblem.INVALID_KEY: "ModelsLab refused the API key (401)",
}


def bot_status_embed(report: StatusReport) -> discord.Embed:
    """``/videobot status``: queue, jobs at ModelsLab, the last 24 hours, the wallet, open alerts."""
    embed = discord.Embed(
        title="Video bot status",
        colour=discord.Colour.red() if report.problems else discord.Colour.blurple(),
    )
    embed.add_field(name="Waiting in line", value=f"{report.queued} (from this server: {report.queued_here})")
    embed.add_field(
        name="At ModelsLab", value=f"{report.in_flight} of {report.max_in_flight} (MAX_JOBS_IN_FLIGHT)"
    )
    embed.add_field(
        name="Last 24 hours",
        value=(
            f"Here: {report.day_jobs_here} videos, {report.day_failures_here} failed\n"
            f"All servers: {report.day_jobs_all} videos, {report.day_failures_all} failed"
        ),
        inline=False,
    )
    wallet = report.wallet
    if wallet.balance is not None:
        value = f"${wallet.balance:,.2f}"
        if report.wallet_threshold is not None:
            value += f" (alert below ${report.wallet_threshold:,.2f})"
        if wallet.checked_at is not None:
            value += f", read {timestamp(wallet.checked_at)}"
        if wallet.error:
            value += f"\nNot readable just now: {wallet.error}"
    else:
        value = f"Could not be read: {wallet.error or 'no reading yet'}"
    embed.add_field(name="ModelsLab wallet", value=clip(value), inline=False)
    if report.problems:
        lines = [f"{_PROBLEM_WORDS[p]} since {timestamp(since)}" for p, since in report.problems.items()]
        embed.add_field(name="Alerts", value=clip("\n".join(lines)), inline=False)
    return embed


def help_embed(
    *,
    commands: list[tuple[str, list[tuple[str, str]]]],
    defaults: list[DefaultVideo],
    prices: list[PriceLine],
    balance: int,
) -> discord.Embed:
    """``/video help``: what the bot does, the commands by family, the models with prices here, and
    the member's balance. ``commands`` is ``[(family, [(command, description), ...]), ...]``."""
    made_how = " and ".join(
        f"`/video {v.kind}` makes a {v.settings} {v.model_id} video for {v.cost} credits" for v in defaults
    )
    embed = discord.Embed(
        title="What this bot does",
        description=(
            "It makes AI videos: describe a scene, or bring an image to life. You pay in credits; the "
            "video arrives in a thread with a mention, and if anything fails your credits come back. "
            f"By default {made_how}."
        ),
        colour=discord.Colour.blurple(),
    )
    for family, entries in commands[:20]:
        lines = [f"`/{name}` {description}" for name, description in entries]
        embed.add_field(name=f"/{family}", value=clip_lines(lines), inline=False)
    by_model: dict[str, list[PriceLine]] = {}
    for line in prices:
        by_model.setdefault(line.model_id, []).append(line)
    model_lines = [
        f"**{model_id}** ({lines[0].kind}): " + ", ".join(f"{line.settings} {line.credits}" for line in lines)
        for model_id, lines in by_model.items()
    ]
    embed.add_field(
        name="Models and prices here (credits)",
        value=clip_lines(model_lines, more="…{n} more in /credits prices"),
        inline=False,
    )
    embed.add_field(name="Your balance", value=f"**{balance}** credits", inline=False)
    return embed
