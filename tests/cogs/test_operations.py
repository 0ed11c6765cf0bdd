"""``/videobot setup``, ``/videobot status``, ``/video help``, report charts and owner alerts, through
real discord.py against the loopback fakes."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import discord
import pytest

from tests.cogs.conftest import START, Flow
from tests.fakes.discord_payloads import FakeMessage
from tests.fakes.discord_server import DEFAULT_OWNER_ID
from tests.member import CHANNEL, GUILD, MEMBER, MEMBER_PERMISSIONS, MODERATOR, eventually, job_number

ALERTS = 800_000_000_000_000_050
OTHER_CHANNEL = 800_000_000_000_000_051
ATTACH_FILES = 1 << 15


async def answer(flow: Flow, command: str, *, user: int = MODERATOR, **options: object) -> FakeMessage:
    """The whole private answer to a command: text, embeds and attachments."""
    inter = await flow.discord.invoke_slash(
        guild_id=GUILD, channel_id=CHANNEL, user_id=user, command=command, options=options
    )
    message = await inter.wait_for_followup_or_edit(lambda m: not m.loading and bool(m.text), timeout=30)
    assert inter.ephemeral
    return message


def fields(message: FakeMessage) -> dict[str, str]:
    [embed] = message.embeds
    return {field["name"]: field["value"] for field in embed.get("fields", [])}


def embed_size(embed: dict[str, Any]) -> int:
    """Characters that count towards Discord's 6,000 per message."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    return size + len(embed.get("footer", {}).get("text", ""))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# -- /videobot setup -------------------------------------------------------------------------------


async def test_setup_on_a_ready_server_reports_no_problem(flow: Flow) -> None:
    message = await answer(flow, "videobot setup")
    [embed] = message.embeds
    assert "everything the bot needs is in place" in embed["description"]
    checks = fields(message)
    assert checks["✅ Permissions in this channel"].startswith("All granted: View Channel, Send Messages")
    assert "10 MiB" in checks["ℹ️ Upload limit"]
    assert "veo-3.1-fast, 8 s): 80 credits" in checks["✅ What members pay"]
    assert f"New members start with {START} credits" in checks["✅ What members pay"]
    assert "`/videobot settings moderator_role`" in checks["ℹ️ Moderator role"]


async def test_setup_names_each_problem_with_its_fix(flow: Flow) -> None:
    flow.discord.add_text_channel(GUILD, OTHER_CHANNEL, "gallery")
    everything_but_attach = 0x7FFFFFFFF & ~ATTACH_FILES & ~(1 << 3)
    flow.discord.add_member(GUILD, flow.discord.bot_user_id, "VideoBot", permissions=everything_but_attach)
    await flow.run("videobot settings starting_balance", user=MODERATOR, amount=20)
    await flow.run("videobot settings channels", user=MODERATOR, action="allow", channel=OTHER_CHANNEL)
    await flow.bot.rulebook.update(GUILD, actor_id=MODERATOR, audit_channel_id=123_456)  # since deleted
    await asyncio.sleep(0.2)  # the member update reaches the bot's cache

    message = await answer(flow, "videobot setup")
    [embed] = message.embeds
    assert "**4 problems** to fix" in embed["description"]
    checks = fields(message)
    permissions = checks["❌ Permissions in this channel"]
    # 0x7FFFFFFFF stops below the thread permissions (bits 35 and 38): those are missing too.
    assert permissions.startswith(
        "Missing: Send Messages in Threads, Create Public Threads, Attach Files. "
        "Granted: View Channel, Send Messages, Embed Links."
    )
    assert "**Fix:** Edit Channel → Permissions" in permissions
    assert "Videos cannot be made in this channel" in checks["❌ Video channels"]
    assert "`/videobot settings channels allow`" in checks["❌ Video channels"]
    assert "was deleted" in checks["❌ Audit channel"]
    pay = checks["❌ What members pay"]
    assert "cannot make one of each (90 credits short)" in pay  # 80 + 30 - 20
    assert "`/videobot settings starting_balance 110`" in pay
    assert embed_size(embed) <= 6000
    assert all(len(value) <= 1024 for value in checks.values())


async def test_setup_is_for_manage_server_only(flow: Flow) -> None:
    text = await flow.run("videobot setup", user=MEMBER)
    assert "Only members with Manage Server" in text


# -- /videobot status ------------------------------------------------------------------------------


@pytest.mark.config(max_jobs_in_flight=1)
async def test_status_shows_queue_in_flight_last_day_and_wallet(flow: Flow) -> None:
    flow.modelslab.render_seconds = 30  # what is submitted stays at ModelsLab for the test
    flow.modelslab.fail_next_submit("bad_request")
    failed = job_number(await flow.run("video text", prompt="first", duration=4))
    await flow.discord.wait_for_message(lambda m: f"video #{failed} did not work out" in m.content, 30)
    job_number(await flow.run("video text", prompt="second", duration=4))
    await eventually(lambda: len(flow.modelslab.submits()) == 2, what="the second job to be submitted")
    job_number(await flow.run("video text", prompt="third", duration=4))  # waits for the one slot

    message = await answer(flow, "videobot status")
    status = fields(message)
    assert status["Waiting in line"] == "1 (from this server: 1)"
    assert status["At ModelsLab"] == "1 of 1 (MAX_JOBS_IN_FLIGHT)"
    assert status["Last 24 hours"] == "Here: 3 videos, 1 failed\nAll servers: 3 videos, 1 failed"
    assert status["ModelsLab wallet"].startswith("$43.60, read <t:")
    assert "Alerts" not in status


async def test_status_is_refused_to_members_but_not_to_the_bots_owner(flow: Flow) -> None:
    assert "Only moderators and the bot's owner" in await flow.run("videobot status", user=MEMBER)
    flow.discord.add_member(GUILD, DEFAULT_OWNER_ID, "owner", permissions=MEMBER_PERMISSIONS)
    message = await answer(flow, "videobot status", user=DEFAULT_OWNER_ID)
    assert "ModelsLab wallet" in fields(message)


async def test_status_says_when_the_wallet_cannot_be_read(flow: Flow) -> None:
    flow.modelslab.api_key = "rotated"  # ModelsLab refuses our key from now on
    status = fields(await answer(flow, "videobot status"))
    assert status["ModelsLab wallet"].startswith("Could not be read: The video service is not set up")
    assert "refused the API key (401)" in status["Alerts"]


# -- /video help -----------------------------------------------------------------------------------


async def test_help_lists_what_the_bot_does_the_commands_prices_here_and_the_balance(flow: Flow) -> None:
    await flow.run("videobot settings price", user=MODERATOR, model="wan2.6-i2v", credits=25)
    message = await answer(flow, "video help", user=MEMBER)
    [embed] = message.embeds
    assert "It makes AI videos" in embed["description"]
    assert "`/video text` makes a 8 s veo-3.1-fast video for 80 credits" in embed["description"]
    assert "`/video image` makes a 5 s, 720p wan2.6-i2v video for 25 credits" in embed["description"]
    help_fields = fields(message)
    assert "`/video text` Make a video from a text prompt" in help_fields["/video"]
    assert "`/video help` What this bot does" in help_fields["/video"]
    assert "`/credits grant` Give a member credits (moderators)" in help_fields["/credits"]
    assert "`/videobot settings …` This server's rules for credits and videos" in help_fields["/videobot"]
    assert "`/campaign join`" in help_fields["/campaign"]
    prices = help_fields["Models and prices here (credits)"]
    assert "**veo-3.1-fast** (text): 4 s 40, 6 s 60, 8 s 80" in prices
    assert "**wan2.6-i2v** (image): 5 s, 720p 25" in prices  # this server's price
    assert help_fields["Your balance"] == f"**{START}** credits"
    assert embed_size(embed) <= 6000
    assert all(len(value) <= 1024 for value in help_fields.values())


async def test_help_follows_the_members_language_where_translated(flow: Flow) -> None:
    commands = flow.discord.registered_commands[GUILD]
    video = next(c for c in commands if c["name"] == "video")
    help_command = next(o for o in video["options"] if o["name"] == "help")
    assert help_command["description_localizations"]["de"].startswith("Was dieser Bot kann")
    assert discord.Locale.german.value == "de"


# -- charts ----------------------------------------------------------------------------------------


async def test_usage_attaches_a_chart_and_keeps_the_numbers_in_the_text(flow: Flow) -> None:
    job = job_number(await flow.run("video text", prompt="a fox", duration=4))
    await flow.video(job)
    message = await answer(flow, "videobot usage", days=3)
    [embed] = message.embeds
    [chart] = message.attachments
    assert chart.filename == "usage.png"
    assert png_size(chart.data) == (800, 400)
    assert chart.description and "3 days" in chart.description and "1 videos" in chart.description
    assert embed["image"]["url"].endswith("usage.png")
    per_day = fields(message)["Per day (UTC), newest first"].splitlines()
    assert len(per_day) == 3
    assert per_day[0].endswith("1 videos · 40 credits")


async def test_campaign_report_attaches_a_chart_beside_the_csv(flow: Flow) -> None:
    await flow.run("campaign create", user=MODERATOR, name="Spooky", end="2d", credits=50)
    await flow.run("campaign join", name="Spooky")
    job_number(await flow.run("video text", prompt="a ghost", duration=4, campaign="Spooky"))
    message = await answer(flow, "campaign report", name="Spooky")
    names = sorted(a.filename for a in message.attachments)
    assert names[0].endswith("-entries.csv") and names[1].endswith(".png")
    chart = next(a for a in message.attachments if a.filename.endswith(".png"))
    assert png_size(chart.data) == (800, 400)
    assert chart.description and "1 entries" in chart.description
    assert fields(message)["Per day (UTC), newest first"].endswith("1 entries · 0 votes")


# -- owner alerts ----------------------------------------------------------------------------------


@pytest.mark.config(owner_alert_channel_id=ALERTS, wallet_alert_usd=5.0, wallet_check_seconds=0.1)
async def test_the_owner_channel_hears_once_when_the_wallet_runs_low_and_once_when_it_recovers(
    flow: Flow,
) -> None:
    flow.discord.add_text_channel(GUILD, ALERTS, "owner-alerts")

    def alerts() -> list[str]:
        return [m.content for m in flow.discord.messages_in(ALERTS)]

    flow.modelslab.balance = 1.5
    await eventually(lambda: len(alerts()) == 1, what="the low-wallet alert")
    await asyncio.sleep(0.3)  # several more checks: no second message
    flow.modelslab.balance = 30.0
    await eventually(lambda: len(alerts()) == 2, what="the recovery")
    await asyncio.sleep(0.3)
    assert len(alerts()) == 2
    assert "The ModelsLab wallet is low ($1.50)" in alerts()[0]
    assert "back above $5.00 ($30.00)" in alerts()[1]


@pytest.mark.config(owner_alert_channel_id=ALERTS)
async def test_a_402_from_a_members_video_alerts_the_owner(flow: Flow) -> None:
    flow.discord.add_text_channel(GUILD, ALERTS, "owner-alerts")
    flow.modelslab.fail_next_submit("insufficient_credits")
    await flow.run("video text", prompt="a fox", duration=4)
    await eventually(lambda: bool(flow.discord.messages_in(ALERTS)), what="the 402 alert")
    [alert] = flow.discord.messages_in(ALERTS)
    assert "ModelsLab refused a job for lack of funds (HTTP 402)" in alert.content
    assert alert.mentions == []


@pytest.mark.config(funds_probe_seconds=0.5)
async def test_no_funds_pauses_videos_tells_members_and_a_top_up_delivers_them(flow: Flow) -> None:
    flow.modelslab.balance = 0  # every submit answers 402
    first = job_number(await flow.run("video text", prompt="a fox", duration=4))

    await eventually(lambda: "needs a top-up" in flow.status_text(first), what="the paused status")
    second = await flow.run("video text", prompt="an owl", duration=4)
    assert "Video making is paused: the bot's ModelsLab account needs a top-up" in second
    assert await flow.balance() == START - 80  # both charged once, neither refunded
    assert not any(m.attachments for m in flow.discord.messages_in(CHANNEL, include_ephemeral=False))

    flow.modelslab.balance = 25.0
    await flow.video(first)
    await flow.video(job_number(second))
    assert await flow.balance() == START - 80
