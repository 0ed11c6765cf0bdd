"""Reports of videos and the moderators' decisions, on both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from storage.engine import SessionFactory
from storage.states import JobState, ModerationActionKind, ReportStatus
from storage.tables import Job, VideoReport
from tests.videobot.moderation.conftest import ANN, BEA, MOD, START, G, balance, logged, make
from videobot.jobs import Jobs
from videobot.moderation import MemberBlocked, Moderation, ModerationError, Reports

CAROL = 12


async def delivered(sessions: SessionFactory, jobs: Jobs, user: int = ANN) -> int:
    job = (await jobs.create(make(user))).job
    assert job.id is not None
    async with sessions() as session, session.begin():
        row = await session.get(Job, job.id)
        assert row is not None
        row.state = JobState.DELIVERED
        session.add(row)
    return job.id


async def test_a_member_reports_a_video_once_and_never_their_own(
    sessions: SessionFactory, jobs: Jobs, reports: Reports
) -> None:
    job_id = await delivered(sessions, jobs)
    filed = await reports.file(job_id, guild_id=G, reporter_id=BEA)
    assert filed.report.status is ReportStatus.OPEN
    assert (filed.job.id, filed.gallery_channel_id) == (job_id, None)
    with pytest.raises(ModerationError, match=f"already reported video #{job_id}"):
        await reports.file(job_id, guild_id=G, reporter_id=BEA)
    with pytest.raises(ModerationError, match="your own video"):
        await reports.file(job_id, guild_id=G, reporter_id=ANN)
    with pytest.raises(ModerationError, match="no longer exists"):
        await reports.file(job_id, guild_id=2, reporter_id=BEA)
    assert (await reports.file(job_id, guild_id=G, reporter_id=CAROL)).report.id != filed.report.id
    assert await logged(sessions) == []  # a report is not a moderator action


async def test_pressing_report_twice_at_once_makes_one_report(
    sessions: SessionFactory, jobs: Jobs, reports: Reports
) -> None:
    job_id = await delivered(sessions, jobs)
    results = await asyncio.gather(
        *(reports.file(job_id, guild_id=G, reporter_id=BEA) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, ModerationError) for r in results if isinstance(r, BaseException))


async def test_a_withdrawn_report_can_be_made_again(
    sessions: SessionFactory, jobs: Jobs, reports: Reports
) -> None:
    job_id = await delivered(sessions, jobs)
    filed = await reports.file(job_id, guild_id=G, reporter_id=BEA)
    assert filed.report.id is not None
    await reports.withdraw(filed.report.id)
    again = await reports.file(job_id, guild_id=G, reporter_id=BEA)
    assert again.report.id is not None
    await reports.posted(again.report.id, channel_id=77, message_id=88)
    async with sessions() as session:
        row = await session.get(VideoReport, again.report.id)
    assert row is not None and (row.audit_channel_id, row.audit_message_id) == (77, 88)


async def test_deleting_from_a_report_closes_it_and_is_logged_once(
    sessions: SessionFactory, jobs: Jobs, reports: Reports, moderation: Moderation
) -> None:
    job_id = await delivered(sessions, jobs)
    first = (await reports.file(job_id, guild_id=G, reporter_id=BEA)).report
    second = (await reports.file(job_id, guild_id=G, reporter_id=CAROL)).report
    assert first.id and second.id
    deleted = await reports.delete_video(first.id, guild_id=G, actor_id=MOD)
    assert deleted.first_time and deleted.by_moderator and deleted.job.deleted_by == MOD
    with pytest.raises(
        ModerationError, match=f"Report #{first.id} was already handled: the video was deleted"
    ):
        await reports.dismiss(first.id, guild_id=G, actor_id=MOD)
    with pytest.raises(ModerationError, match="already been deleted"):
        await reports.file(job_id, guild_id=G, reporter_id=MOD)
    # The other report of the same video: deleting again closes it without a second log entry.
    again = await reports.delete_video(second.id, guild_id=G, actor_id=MOD)
    assert not again.first_time
    [action] = await logged(sessions)
    assert (action.action, action.target_user_id, action.job_id, action.reason) == (
        ModerationActionKind.DELETE_VIDEO,
        ANN,
        job_id,
        f"report #{first.id}",
    )


async def test_blocking_the_owner_keeps_the_report_open(
    sessions: SessionFactory, jobs: Jobs, reports: Reports, moderation: Moderation
) -> None:
    job_id = await delivered(sessions, jobs)
    waiting = (await jobs.create(make(ANN, "another"))).job
    report = (await reports.file(job_id, guild_id=G, reporter_id=BEA)).report
    assert report.id is not None
    result = await reports.block_owner(report.id, guild_id=G, actor_id=MOD)
    assert result.block.user_id == ANN and result.block.expires_at is None
    assert [j.id for j in result.cancelled] == [waiting.id]
    assert await balance(sessions, ANN) == START - 40
    with pytest.raises(MemberBlocked):
        await jobs.create(make(ANN))
    with pytest.raises(ModerationError, match="already blocked until unblocked"):
        await reports.block_owner(report.id, guild_id=G, actor_id=MOD)
    dismissed = await reports.dismiss(report.id, guild_id=G, actor_id=MOD)
    assert dismissed.status is ReportStatus.DISMISSED and dismissed.decided_by == MOD
    with pytest.raises(ModerationError, match="it was dismissed"):
        await reports.block_owner(report.id, guild_id=G, actor_id=MOD)
    actions = [(a.action, a.target_user_id, a.reason) for a in await logged(sessions)]
    assert actions == [
        (ModerationActionKind.BLOCK, ANN, f"reported video #{job_id} (report #{report.id})"),
        (ModerationActionKind.DISMISS_REPORT, ANN, f"report #{report.id}"),
    ]


async def test_two_moderators_deciding_at_once_make_one_decision(
    sessions: SessionFactory, jobs: Jobs, reports: Reports
) -> None:
    job_id = await delivered(sessions, jobs)
    report = (await reports.file(job_id, guild_id=G, reporter_id=BEA)).report
    assert report.id is not None
    results = await asyncio.gather(
        reports.dismiss(report.id, guild_id=G, actor_id=MOD),
        reports.delete_video(report.id, guild_id=G, actor_id=CAROL),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, ModerationError) for r in results if isinstance(r, BaseException))
    assert len(await logged(sessions)) == 1
    async with sessions() as session:
        job = (await session.exec(select(Job))).one()
    deleted = not isinstance(results[1], BaseException)
    assert (job.deleted_at is not None) == deleted
