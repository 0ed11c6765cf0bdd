"""Every embed the bot builds, filled with the most data members and moderators can give it, stays
within Discord's limits (checked by the fake Discord's own validator, which answers 400/50035 as
Discord does), and member text cannot render as markdown or a masked link."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import discord
import pytest

from cogs.ui.embeds import (
    campaign_embed,
    campaign_report_embed,
    campaigns_embed,
    escape,
    history_embed,
    job_list_embed,
    prices_embed,
    settings_embed,
    status_embed,
    usage_embed,
)
from storage.states import AllowanceMode, EntryKind, JobState
from storage.tables import Campaign, Job, LedgerEntry, MemberBlock
from tests.fakes.discord_payloads import DiscordAPIError, validate_message_payload
from videobot.campaigns import CampaignOverview, CampaignReport, CampaignStatus, RankedEntry
from videobot.catalog import VideoChoices, load_catalog, validate_choices
from videobot.credits import HistoryPage
from videobot.maxima import MAX_CREDITS, MAX_REASON
from videobot.rulebook import ServerRules
from videobot.usage import DayUsage, MemberUsage, UsageReport

CATALOG = load_catalog()
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
BIG = 10**18  # snowflakes are long
HOSTILE = "[discord.com/gift](https://phish) **@everyone** <@&1> `x` "


def fits(embed: discord.Embed) -> None:
    """Raise as Discord would if the message carrying this embed is over any limit."""
    validate_message_payload({"embeds": [embed.to_dict()]}, n_files=0, creating=True)


def job(i: int = 1, **values: Any) -> Job:
    video = validate_choices(
        CATALOG,
        VideoChoices(kind="text", prompt="p" * 2000, negative_prompt="n" * 500, model_id="veo-3.1"),
    )
    row: dict[str, Any] = {
        "id": 2**31 - i,
        "interaction_id": BIG + i,
        "guild_id": BIG,
        "channel_id": BIG + 1,
        "thread_id": BIG + 2,
        "user_id": BIG + 3,
        "kind": "text",
        "model_id": video.model.id,
        "prompt": HOSTILE + "p" * 2000,
        "settings": video.to_record(),
        "cost": MAX_CREDITS,
        "upload_limit": 1,
        "state": JobState.FAILED,
        "failure_reason": "r" * 2000,
        "result_message_id": BIG + 4,
        "created_at": NOW,
    }
    row.update(values)
    return Job(**row)


def test_the_status_message_at_its_longest() -> None:
    for state in JobState:
        fits(status_embed(job(state=state, submitted_at=NOW, finished_at=NOW), CATALOG))


def test_lists_of_the_most_a_member_can_have() -> None:
    fits(job_list_embed([job(i, state=JobState.DELIVERED) for i in range(25)], BIG))
    entries = [
        LedgerEntry(
            id=i,
            account_id=1,
            amount=-MAX_CREDITS,
            balance_after=10**12,
            kind=EntryKind.GRANT,
            job_id=2**31 - 1,
            actor_id=BIG,
            reason="w" * MAX_REASON,
            created_at=NOW,
        )
        for i in range(10)
    ]
    fits(history_embed(HistoryPage(entries, page=999, pages=1000, total=10_000), BIG))
    overrides = {m.id: MAX_CREDITS for m in CATALOG.models()}
    fits(prices_embed(CATALOG.price_list(overrides)))


def test_the_settings_of_a_server_that_set_everything() -> None:
    rules = ServerRules(
        guild_id=BIG,
        starting_balance=MAX_CREDITS,
        allowance_mode=AllowanceMode.ADD,
        allowance_amount=MAX_CREDITS,
        allowance_cap=MAX_CREDITS,
        role_bonuses={BIG + i: MAX_CREDITS for i in range(250)},
        price_overrides={m.id: MAX_CREDITS for m in CATALOG.models()},
        moderator_role_id=BIG,
        audit_channel_id=BIG,
        allowed_channel_ids=frozenset(BIG + i for i in range(500)),
        max_jobs_per_member=100,
        daily_credit_cap=MAX_CREDITS,
    )
    blocks = [
        MemberBlock(guild_id=BIG, user_id=BIG + i, reason="x", created_by=BIG, created_at=NOW, expires_at=NOW)
        for i in range(300)
    ]
    fits(settings_embed(rules, default_starting_balance=120, blocks=blocks))


def test_usage_over_the_longest_period() -> None:
    days = [DayUsage(date(2026, 9, 1) + timedelta(days=i), 10**6, 10**12) for i in range(90)]
    top = [MemberUsage(BIG + i, 10**6, 10**12) for i in range(5)]
    running = [job(i, state=JobState.PROCESSING) for i in range(500)]
    report = UsageReport(days, top, dict.fromkeys(JobState, 10**6), 10**12, running)
    fits(usage_embed(report, 90))


def campaign(i: int = 0) -> Campaign:
    return Campaign(
        id=i,
        guild_id=BIG,
        name=(HOSTILE + "n" * 100)[:100],
        name_key=str(i),
        starts_at=NOW,
        ends_at=NOW + timedelta(days=366),
        credits_per_member=MAX_CREDITS,
        allowed_models=[m.id for m in CATALOG.models()],
        prompt_prefix="a" * 300,
        prompt_suffix="z" * 300,
        gallery_channel_id=BIG,
        announce_channel_id=BIG,
        budget=MAX_CREDITS,
        max_entries_per_member=1000,
        created_by=BIG,
        created_at=NOW,
    )


def test_campaigns_at_their_longest_and_many_of_them() -> None:
    overviews = [CampaignOverview(campaign(i), CampaignStatus.RUNNING, MAX_CREDITS, 1000) for i in range(60)]
    fits(campaigns_embed(overviews))
    fits(campaign_embed(overviews[0]))
    top = [RankedEntry(job(i, state=JobState.DELIVERED, gallery_message_id=BIG), 10**9) for i in range(5)]
    fits(campaign_report_embed(CampaignReport(campaign(), 10**9, 10**9, 10**12, top)))


def test_the_fake_refuses_what_discord_refuses() -> None:
    with pytest.raises(DiscordAPIError):
        fits(discord.Embed(description="x" * 4097))


def test_member_text_renders_neither_markdown_nor_masked_links() -> None:
    shown = status_embed(job(state=JobState.QUEUED), CATALOG).description or ""
    assert shown.startswith(escape(HOSTILE))
    assert "[discord.com/gift](" not in shown.replace("\\[", "")
    assert "**@everyone**" not in shown
