"""Nobody is pinged by what members type: a prompt, a campaign name or a moderator's reason holding
@everyone, @here and role or user mentions reaches Discord with those mentions off. Only a delivered
video pings, and only its owner. Checked on every message the fake Discord stored (it computes who
is mentioned from ``allowed_mentions`` as Discord does), with the bot allowed to mention everyone."""

from __future__ import annotations

from tests.cogs.conftest import Flow
from tests.fakes.discord_payloads import ALL_PERMISSIONS
from tests.member import CHANNEL, GUILD, MEMBER, MODERATOR, OTHER_MEMBER, job_number

ROLE = 800_000_000_000_000_055
GALLERY = 800_000_000_000_000_056


async def test_member_text_never_pings_anyone(flow: Flow) -> None:
    flow.discord.add_role(GUILD, ROLE, "everyone-ish")
    flow.discord.add_text_channel(GUILD, GALLERY, "gallery")
    flow.discord.set_bot_permissions(GUILD, ALL_PERMISSIONS)  # the worst case: it may mention @everyone
    pings = f"@everyone @here <@&{ROLE}> <@{OTHER_MEMBER}>"
    await flow.run("videobot settings audit_channel", user=MODERATOR, channel=CHANNEL)
    await flow.run("credits grant", user=MODERATOR, member=MEMBER, amount=5, reason=f"for {pings}")
    await flow.run(
        "campaign create", user=MODERATOR, name=f"Fest {pings}"[:100], end="1d", credits=100, gallery=GALLERY
    )
    await flow.run("campaign join", name=f"Fest {pings}"[:100])
    job = job_number(await flow.run("video text", prompt=f"a fox {pings}", duration=4))
    await flow.video(job)
    await flow.discord.wait_for_message(lambda m: m.channel_id == GALLERY and f"#{job}" in m.content, 30)

    messages = [m for channel in flow.discord.channels for m in flow.discord.messages_in(channel)]
    assert any(pings in m.text for m in messages)  # the texts did reach Discord
    for message in messages:
        assert not message.mention_everyone, message.text
        assert message.mention_roles == [], message.text
        assert set(message.mentions) <= {MEMBER}, message.text
    video = flow.videos(job)[0]
    assert video.mentions == [MEMBER]  # the owner, on delivery
