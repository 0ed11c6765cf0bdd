"""The moderators' tools on both databases: blocked terms where jobs are charged, member blocks with
their refunds and expiry, deleting videos, and the moderation log."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import func, select

from storage.engine import SessionFactory
from storage.states import JobState, ModerationActionKind
from storage.tables import Job, JobInput, LedgerEntry
from storage.types import utcnow
from tests.videobot.moderation.conftest import (
    ANN,
    BEA,
    CATALOG,
    MOD,
    NOW,
    START,
    Clock,
    G,
    balance,
    logged,
    make,
)
from videobot.campaigns import CampaignReports, Campaigns, CampaignSpec
from videobot.jobs import InputFile, JobError, Jobs
from videobot.moderation import MemberBlocked, Moderation, ModerationError, TermNotAllowed


async def count(sessions: SessionFactory, model: type[Job] | type[LedgerEntry] | type[JobInput]) -> int:
    async with sessions() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def finish(sessions: SessionFactory, job_id: int, state: JobState = JobState.DELIVERED) -> None:
    async with sessions() as session, session.begin():
        job = await session.get(Job, job_id)
        assert job is not None
        job.state = state
        session.add(job)


# -- blocked terms --------------------------------------------------------------------------------


async def test_terms_are_added_listed_and_removed_each_once_and_logged(moderation: Moderation) -> None:
    added = await moderation.add_term(G, "  Café  au  lait ", actor_id=MOD, reason="spam")
    assert (added.term, added.term_key, added.reason) == ("Café au lait", "cafe au lait", "spam")
    with pytest.raises(
        ModerationError, match=r"“CAFE AU LAIT” is already blocked here \(as “Café au lait”\)"
    ):
        await moderation.add_term(G, "CAFE AU LAIT", actor_id=MOD)
    await moderation.add_term(G, "cat", actor_id=MOD)
    await moderation.add_term(2, "cat", actor_id=MOD)  # another server's list is its own
    assert [t.term for t in await moderation.terms(G)] == ["Café au lait", "cat"]
    with pytest.raises(ModerationError, match="“dog” is not a blocked term here"):
        await moderation.remove_term(G, "dog", actor_id=MOD)
    removed = await moderation.remove_term(G, "café AU lait", actor_id=MOD)
    assert removed.term == "Café au lait"
    assert [t.term for t in await moderation.terms(G)] == ["cat"]
    page = await moderation.log(G)
    assert [(a.action, a.term) for a in page.actions] == [
        (ModerationActionKind.BLOCKLIST_REMOVE, "Café au lait"),
        (ModerationActionKind.BLOCKLIST_ADD, "cat"),
        (ModerationActionKind.BLOCKLIST_ADD, "Café au lait"),
    ]
    assert all(a.actor_id == MOD for a in page.actions)


async def test_a_blocked_term_refuses_the_job_without_charge(
    sessions: SessionFactory, moderation: Moderation, jobs: Jobs
) -> None:
    await moderation.add_term(G, "cat", actor_id=MOD)
    for prompt in ["a c\u200bat on a roof", "a CÀT", "a ｃａｔ"]:
        with pytest.raises(TermNotAllowed) as caught:
            await jobs.create(make(ANN, prompt))
        assert caught.value.term == "cat"
        assert caught.value.part == "prompt"
        assert "cat" not in str(caught.value)
        assert "contains a term this server does not allow" in str(caught.value)
    with pytest.raises(TermNotAllowed) as caught:
        await jobs.create(make(ANN, "a dog", negative_prompt="no Cat please"))
    assert caught.value.part == "negative prompt"
    assert await count(sessions, Job) == 0
    assert await count(sessions, LedgerEntry) == 0
    assert await balance(sessions, ANN) is None  # not even an account was opened
    created = await jobs.create(make(ANN, "a category of dogs"))
    assert created.balance_after == START - 40


async def test_the_campaign_theme_is_checked_too(
    sessions: SessionFactory, moderation: Moderation, jobs: Jobs, clock: Clock
) -> None:
    campaigns = Campaigns(sessions, CATALOG, clock=clock)
    spec = CampaignSpec(
        name="Zoo", ends="1d", credits_per_member=50, prompt_prefix="a big", prompt_suffix="cat"
    )
    await campaigns.create(G, actor_id=MOD, announce_channel_id=5, spec=spec)
    await campaigns.join(G, ANN, "Zoo")
    await moderation.add_term(G, "big bad", actor_id=MOD)
    # The phrase only appears once the theme is added.
    with pytest.raises(TermNotAllowed) as caught:
        await jobs.create(make(ANN, "bad wolf"))
    assert caught.value.part == "campaign theme"
    assert "The theme of “Zoo” contains a term" in str(caught.value)
    await moderation.remove_term(G, "big bad", actor_id=MOD)
    await moderation.add_term(G, "cat", actor_id=MOD)
    with pytest.raises(TermNotAllowed, match="theme of “Zoo”"):
        await jobs.create(make(ANN, "a bird"))
    assert await count(sessions, Job) == 0


async def test_a_reroll_applies_todays_list(
    sessions: SessionFactory, moderation: Moderation, jobs: Jobs
) -> None:
    first = await jobs.create(make(ANN, "a cat on a roof"))
    assert first.job.id is not None
    await moderation.add_term(G, "cat", actor_id=MOD)
    again = await jobs.reroll_request(
        first.job.id, interaction_id=999_001, user_id=BEA, upload_limit=10 << 20
    )
    with pytest.raises(TermNotAllowed):
        await jobs.create(again)
    assert await balance(sessions, BEA) is None
    assert await count(sessions, Job) == 1


# -- member blocks --------------------------------------------------------------------------------


async def test_a_blocked_member_is_refused_everywhere_until_the_block_ends(
    sessions: SessionFactory, moderation: Moderation, jobs: Jobs, clock: Clock
) -> None:
    campaigns = Campaigns(sessions, CATALOG, clock=clock)
    await campaigns.create(
        G,
        actor_id=MOD,
        announce_channel_id=5,
        spec=CampaignSpec(name="Fest", ends="7d", credits_per_member=5),
    )
    await campaigns.join(G, BEA, None)
    entry = (await jobs.create(make(BEA, "a kite"))).job
    assert entry.id is not None and entry.campaign_id is not None

    result = await moderation.block(G, ANN, actor_id=MOD, reason=" spam ", duration="2h")
    assert result.block.expires_at == NOW + timedelta(hours=2)
    assert result.block.reason == "spam"
    assert not result.replaced
    with pytest.raises(MemberBlocked) as caught:
        await jobs.create(make(ANN))
    assert caught.value.until == NOW + timedelta(hours=2)
    assert "until 2026-10-25 14:00 UTC" in str(caught.value)
    with pytest.raises(MemberBlocked):
        await campaigns.join(G, ANN, "Fest")
    with pytest.raises(MemberBlocked):
        await campaigns.vote(entry.id, ANN)
    assert [b.user_id for b in await moderation.blocks(G)] == [ANN]
    assert await balance(sessions, ANN) is None

    clock.now = NOW + timedelta(hours=2, seconds=1)  # the block ends by itself
    assert await moderation.blocks(G) == []
    assert (await jobs.create(make(ANN))).balance_after == START - 40
    assert (await campaigns.join(G, ANN, "Fest")).credits == 5
    assert (await campaigns.vote(entry.id, ANN)).counted
    with pytest.raises(ModerationError, match="not blocked"):
        await moderation.unblock(G, ANN, actor_id=MOD)


async def test_blocking_cancels_and_refunds_waiting_videos_but_not_claimed_ones(
    sessions: SessionFactory, moderation: Moderation, jobs: Jobs
) -> None:
    claimed = (await jobs.create(make(ANN, "first"))).job
    waiting = (await jobs.create(make(ANN, "second"))).job
    other = (await jobs.create(make(BEA, "someone else's"))).job
    assert claimed.id and waiting.id and other.id
    async with sessions() as session, session.begin():
        row = await session.get(Job, claimed.id)
        assert row is not None
        row.state, row.lease_owner, row.lease_expires_at = JobState.SUBMITTING, "runner-1", utcnow()
        session.add(row)
    assert await balance(sessions, ANN) == START - 80

    result = await moderation.block(G, ANN, actor_id=MOD)
    assert result.block.expires_at is None
    assert [j.id for j in result.cancelled] == [waiting.id]
    assert result.cancelled[0].state is JobState.CANCELLED
    assert "blocked" in (result.cancelled[0].failure_reason or "")
    assert await balance(sessions, ANN) == START - 40
    async with sessions() as session:
        states = {j.id: j.state for j in (await session.exec(select(Job))).all()}
    assert states == {
        claimed.id: JobState.SUBMITTING,
        waiting.id: JobState.CANCELLED,
        other.id: JobState.QUEUED,
    }
    with pytest.raises(MemberBlocked, match="until a moderator lifts the block"):
        await jobs.create(make(ANN))


async def test_blocking_again_replaces_the_block_and_unblock_lifts_it(
    moderation: Moderation, jobs: Jobs, sessions: SessionFactory
) -> None:
    await moderation.block(G, ANN, actor_id=MOD, duration="1d")
    again = await moderation.block(G, ANN, actor_id=MOD, duration="1w", reason="worse")
    assert again.replaced
    assert again.previous_until == NOW + timedelta(days=1)
    assert again.block.expires_at == NOW + timedelta(weeks=1)
    assert len(await moderation.blocks(G)) == 1
    await moderation.unblock(G, ANN, actor_id=MOD)
    assert await moderation.blocks(G) == []
    assert (await jobs.create(make(ANN))).job.id is not None
    actions = [
        (a.action, a.target_user_id, a.expires_at, a.reason) for a in (await moderation.log(G)).actions
    ]
    assert actions == [
        (ModerationActionKind.UNBLOCK, ANN, None, None),
        (ModerationActionKind.BLOCK, ANN, NOW + timedelta(weeks=1), "worse"),
        (ModerationActionKind.BLOCK, ANN, NOW + timedelta(days=1), None),
    ]


@pytest.mark.parametrize(
    ("duration", "problem"),
    [
        ("soon", "can't read the duration"),
        ("0h", "at least a minute"),
        ("400d", "at most 365 days"),
        ("2x", "can't read"),
    ],
)
async def test_bad_block_requests_are_refused_and_change_nothing(
    moderation: Moderation, sessions: SessionFactory, duration: str, problem: str
) -> None:
    with pytest.raises(ModerationError, match=problem):
        await moderation.block(G, ANN, actor_id=MOD, duration=duration)
    with pytest.raises(ModerationError, match="can't block yourself"):
        await moderation.block(G, MOD, actor_id=MOD)
    with pytest.raises(ModerationError, match="under 200 characters"):
        await moderation.block(G, ANN, actor_id=MOD, reason="x" * 201)
    assert await moderation.blocks(G) == []
    assert await logged(sessions) == []


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w", timedelta(weeks=1)),
        (" 1D 2H ", timedelta(days=1, hours=2)),
    ],
)
async def test_durations(moderation: Moderation, text: str, length: timedelta) -> None:
    result = await moderation.block(G, ANN, actor_id=MOD, duration=text)
    assert result.block.expires_at == NOW + length


# -- deleting videos ------------------------------------------------------------------------------


async def test_the_owner_deletes_a_video_its_inputs_are_purged_and_nothing_is_logged(
    sessions: SessionFactory, moderation: Moderation, jobs: Jobs
) -> None:
    audio = (InputFile.attached("init_audio", "audio/mpeg", "a.mp3", b"ID3"),)
    job = (await jobs.create(replace(make(ANN), inputs=audio))).job
    other = (await jobs.create(replace(make(ANN), inputs=audio))).job
    assert job.id and other.id
    with pytest.raises(ModerationError, match="still being made"):
        await moderation.delete_video(job.id, guild_id=G, actor_id=ANN, moderator=False)
    await finish(sessions, job.id)
    with pytest.raises(ModerationError, match="Only the video's owner or a moderator"):
        await moderation.delete_video(job.id, guild_id=G, actor_id=BEA, moderator=False)
    with pytest.raises(ModerationError, match="no longer exists"):
        await moderation.delete_video(job.id, guild_id=2, actor_id=ANN, moderator=False)

    deleted = await moderation.delete_video(job.id, guild_id=G, actor_id=ANN, moderator=False)
    assert deleted.first_time and not deleted.by_moderator
    assert deleted.job.deleted_at == NOW and deleted.job.deleted_by == ANN
    async with sessions() as session:
        inputs = (await session.exec(select(JobInput.job_id))).all()
    assert inputs == [other.id]  # only this job's inputs went
    assert await logged(sessions) == []
    with pytest.raises(JobError, match="was deleted"):
        await jobs.reroll_request(job.id, interaction_id=31337, user_id=BEA, upload_limit=1)
    again = await moderation.delete_video(job.id, guild_id=G, actor_id=ANN, moderator=False)
    assert not again.first_time  # a retry after a chat failure is not refused


async def test_a_moderator_deletion_is_logged_once(
    sessions: SessionFactory, moderation: Moderation, jobs: Jobs
) -> None:
    job = (await jobs.create(make(ANN))).job
    assert job.id is not None
    await finish(sessions, job.id, JobState.FAILED)
    deleted = await moderation.delete_video(job.id, guild_id=G, actor_id=MOD, moderator=True, reason="rude")
    assert deleted.by_moderator and deleted.gallery_channel_id is None
    await moderation.delete_video(job.id, guild_id=G, actor_id=MOD, moderator=True)
    [action] = await logged(sessions)
    assert (action.action, action.actor_id, action.target_user_id, action.job_id, action.reason) == (
        ModerationActionKind.DELETE_VIDEO,
        MOD,
        ANN,
        job.id,
        "rude",
    )


# -- the log --------------------------------------------------------------------------------------


async def test_the_log_pages_newest_first_and_filters_by_member(moderation: Moderation) -> None:
    for i in range(12):
        await moderation.add_term(G, f"word{i}", actor_id=MOD)
    await moderation.block(G, ANN, actor_id=MOD)
    await moderation.block(G, MOD, actor_id=BEA)
    first = await moderation.log(G)
    assert (first.page, first.pages, first.total) == (0, 2, 14)
    assert [a.action for a in first.actions[:2]] == [ModerationActionKind.BLOCK, ModerationActionKind.BLOCK]
    assert first.actions[2].term == "word11"
    second = await moderation.log(G, page=1)
    assert [a.term for a in second.actions] == ["word3", "word2", "word1", "word0"]
    assert (await moderation.log(G, page=9)).page == 1  # past the end: the last page
    about_ann = await moderation.log(G, user_id=ANN)
    assert [(a.actor_id, a.target_user_id) for a in about_ann.actions] == [(MOD, ANN)]
    by_or_about_mod = await moderation.log(G, user_id=MOD)
    assert by_or_about_mod.total == 14
    empty = await moderation.log(3)
    assert (empty.actions, empty.pages, empty.total) == ([], 1, 0)


async def test_a_deleted_entry_keeps_counting_but_its_prompt_leaves_the_campaign_csv(
    sessions: SessionFactory, moderation: Moderation, jobs: Jobs, clock: Clock
) -> None:
    campaigns = Campaigns(sessions, CATALOG, clock=clock)
    spec = CampaignSpec(name="Fest", ends="1d", credits_per_member=50)
    campaign = await campaigns.create(G, actor_id=MOD, announce_channel_id=5, spec=spec)
    await campaigns.join(G, ANN, "Fest")
    entry = (await jobs.create(make(ANN, "a secret kite"))).job
    assert entry.id is not None
    await finish(sessions, entry.id)
    await moderation.delete_video(entry.id, guild_id=G, actor_id=ANN, moderator=False)
    reports = CampaignReports(sessions)
    csv_text = await reports.entries_csv(campaign)
    assert "(deleted)" in csv_text and "secret kite" not in csv_text
    assert (await reports.report(campaign)).entries == 1
