"""The job runner against the fake ModelsLab on loopback and a real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from storage.tables import Job
from storage.types import utcnow
from tests.videobot.jobs.conftest import KEY, START, Harness, crash
from videobot.campaigns import Campaigns, CampaignSpec
from videobot.jobs import JobState
from videobot.jobs.transitions import REASON_TIMEOUT, REASON_UNCERTAIN_SUBMIT
from videobot.media import is_mp4


async def test_text_job_is_submitted_polled_downloaded_and_delivered_once(harness: Harness) -> None:
    runner = harness.runner()
    await runner.start()
    job = await harness.queue(duration=4)
    done = await harness.wait_for(job.id, JobState.DELIVERED)

    assert done.result_message_id == 9000 + done.id  # type: ignore[operator]
    assert [j for j, _ in harness.presenter.files] == [done.id]
    assert is_mp4(harness.presenter.files[0][1])
    [submit] = harness.fake.submits()
    body = submit.json or {}
    assert body["key"] == KEY
    assert body["model_id"] == "veo-3.1-fast"
    assert body["duration"] == "4"
    assert body["generate_audio"] is True
    assert body["track_id"] == f"job-{done.id}"
    assert await harness.ledger(done.id) == [("debit", -done.cost)]
    assert await harness.balance() == START - done.cost
    seen = [state for job_id, state in harness.presenter.states if job_id == done.id]
    assert seen == ["processing", "delivering", "delivered"]


async def test_image_job_hands_the_provider_fetchable_urls_for_image_and_audio(harness: Harness) -> None:
    await harness.runner().start()
    job = await harness.queue(kind="image", with_audio=True)
    done = await harness.wait_for(job.id, JobState.DELIVERED)

    [submit] = harness.fake.submits()
    assert submit.path.endswith("/image-to-video")
    body = submit.json or {}
    assert body["init_image"].startswith(harness.fake.server_url)
    assert body["init_audio"].startswith(harness.fake.server_url)
    fetched = {f.field: f for f in harness.fake.input_fetches}
    assert set(fetched) == {"init_image", "init_audio"}
    assert all(f.ok and f.http_status == 200 for f in fetched.values())
    assert harness.presenter.files[0][0] == done.id


async def test_provider_failure_refunds_and_tells_the_owner(harness: Harness) -> None:
    await harness.runner().start()
    job = await harness.queue()
    harness.fake.fail_next_fetch("failed", message="Processing failed: NSFW content detected")
    failed = await harness.wait_for(job.id, JobState.FAILED)

    assert await harness.ledger(job.id) == sorted([("debit", -job.cost), ("refund", job.cost)])
    assert await harness.balance() == START
    assert harness.presenter.failures == [(failed.id, failed.failure_reason)]
    assert "NSFW" not in (failed.failure_reason or "")  # the provider's words go to the log only
    assert harness.presenter.files == []


async def test_queue_full_at_submit_puts_the_job_back_in_line(harness: Harness) -> None:
    await harness.runner().start()
    harness.fake.fail_next_submit("queue_full", retry_after=0.3)
    job = await harness.queue()
    done = await harness.wait_for(job.id, JobState.DELIVERED)

    submits = harness.fake.submits()
    assert len(submits) == 2
    assert submits[1].time - submits[0].time >= 0.25  # retry_after honoured
    assert done.submit_attempts == 1  # a full queue is "not yet", not a failed attempt
    assert await harness.ledger(job.id) == [("debit", -job.cost)]


@pytest.mark.parametrize("fault", ["timeout", "http_500", "connection_drop"])
async def test_an_unconfirmed_submit_is_never_sent_again(harness: Harness, fault: str) -> None:
    await harness.runner().start()
    harness.fake.fail_next_submit(fault, create_job=True, delay=5)
    job = await harness.queue()
    failed = await harness.wait_for(job.id, JobState.FAILED)

    assert len(harness.fake.submits()) == 1
    assert failed.failure_reason == REASON_UNCERTAIN_SUBMIT
    assert await harness.balance() == START


@pytest.mark.parametrize("fault", ["invalid_key", "plan_gate", "bad_request"])
async def test_provider_refusals_fail_the_job_with_a_refund(harness: Harness, fault: str) -> None:
    await harness.runner().start()
    harness.fake.fail_next_submit(fault)
    job = await harness.queue()
    failed = await harness.wait_for(job.id, JobState.FAILED)
    assert len(harness.fake.submits()) == 1
    assert await harness.balance() == START
    assert KEY not in (failed.failure_reason or "")


async def test_errors_sent_as_http_200_are_classified_the_same(harness: Harness) -> None:
    harness.fake.quirks.http200_errors = True
    harness.fake.quirks.messege_spelling = True
    await harness.runner().start()
    harness.fake.fail_next_submit("invalid_key")
    job = await harness.queue()
    await harness.wait_for(job.id, JobState.FAILED)
    assert await harness.balance() == START


async def test_no_funds_pauses_submitting_and_a_top_up_resumes_it(harness: Harness) -> None:
    harness.fake.balance = 0  # every submit answers 402
    runner = harness.runner(funds_probe_seconds=0.4)
    await runner.start()
    jobs = [await harness.queue() for _ in range(3)]
    await harness.eventually(lambda: runner.pause.paused, what="the pause")
    for job in jobs:  # those sent before the first 402 came back are back in line too
        await harness.wait_for(job.id, JobState.QUEUED)
    before = len(harness.fake.submits())  # those already sent when the first 402 came back
    await asyncio.sleep(1.0)  # two probe intervals and a half
    # While paused, one job is tried per interval, not every waiting job every time.
    assert 1 <= len(harness.fake.submits()) - before <= 3
    for job in jobs:
        waiting = await harness.job(job.id)
        assert waiting.state is JobState.QUEUED and waiting.submit_attempts == 0
    # Nobody refunded, nobody charged twice.
    assert await harness.balance() == START - sum(job.cost for job in jobs)

    harness.fake.balance = 10.0  # topped up: the next probe is accepted, and the rest follow at once
    delivered = [await harness.wait_for(job.id, JobState.DELIVERED) for job in jobs]
    assert not runner.pause.paused
    assert len({job.provider_id for job in delivered}) == 3
    assert sorted(job_id for job_id, _ in harness.presenter.files) == sorted(job.id or 0 for job in jobs)
    assert harness.presenter.failures == []


async def test_rate_limited_and_failing_polls_are_retried(harness: Harness) -> None:
    await harness.runner().start()
    job = await harness.queue()
    harness.fake.fail_next_fetch("rate_limited", retry_after=0.2)
    harness.fake.fail_next_fetch("http_500")
    done = await harness.wait_for(job.id, JobState.DELIVERED)
    assert done.poll_count >= 2


async def test_unknown_job_at_fetch_is_final_after_the_grace(harness: Harness) -> None:
    await harness.runner(not_found_grace=0).start()
    job = await harness.queue()
    harness.fake.fail_next_fetch("not_found")
    await harness.wait_for(job.id, JobState.FAILED)
    assert await harness.balance() == START


async def test_job_past_its_deadline_times_out_with_a_refund(harness: Harness) -> None:
    harness.fake.render_seconds = 30
    await harness.runner(job_timeout=0.6).start()
    job = await harness.queue()
    timed_out = await harness.wait_for(job.id, JobState.TIMED_OUT)
    assert timed_out.failure_reason == REASON_TIMEOUT
    assert await harness.balance() == START


async def test_quirky_provider_still_delivers(harness: Harness) -> None:
    quirks = harness.fake.quirks
    quirks.string_ids = quirks.float_eta = quirks.proxy_links_as_object = True
    quirks.output_empty_string_while_processing = quirks.unknown_status_first = True
    await harness.runner().start()
    job = await harness.queue()
    await harness.wait_for(job.id, JobState.DELIVERED)


async def test_immediate_success_skips_polling(harness: Harness) -> None:
    harness.fake.quirks.immediate_success = True
    await harness.runner().start()
    job = await harness.queue()
    await harness.wait_for(job.id, JobState.DELIVERED)
    assert harness.fake.fetches() == []


async def test_broken_output_falls_back_to_the_proxy_mirror(harness: Harness) -> None:
    await harness.runner().start()
    job = await harness.queue()
    harness.fake.fail_next_fetch("output_404")
    await harness.wait_for(job.id, JobState.DELIVERED)
    assert len(harness.presenter.files) == 1


async def test_output_that_is_not_a_video_is_refunded(harness: Harness) -> None:
    await harness.runner().start()
    job = await harness.queue()
    harness.fake.fail_next_fetch("not_mp4")
    await harness.wait_for(job.id, JobState.FAILED)
    assert harness.presenter.files == []
    assert await harness.balance() == START


async def test_video_over_the_upload_limit_is_delivered_as_a_link(harness: Harness) -> None:
    harness.fake.use_large_video(3 * 1024 * 1024)
    await harness.runner().start()
    job = await harness.queue(upload_limit=1024 * 1024)
    done = await harness.wait_for(job.id, JobState.DELIVERED)
    [(job_id, url, expires_at)] = harness.presenter.links
    assert job_id == done.id
    assert url.startswith(harness.fake.server_url)
    assert expires_at > utcnow() + timedelta(hours=23)
    assert not list((harness.tmp / "downloads").iterdir())  # the partial download is gone


async def test_upload_refused_by_discord_falls_back_to_a_link(harness: Harness) -> None:
    harness.presenter.refuse_upload = True
    await harness.runner().start()
    job = await harness.queue()
    await harness.wait_for(job.id, JobState.DELIVERED)
    assert [j for j, _, _ in harness.presenter.links] == [job.id]


async def test_never_more_jobs_at_the_provider_than_the_limit(harness: Harness) -> None:
    harness.fake.render_seconds = 1.0  # long enough for all eight to be queued while three render
    await harness.runner(max_at_provider=3).start()
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, len(harness.fake.active_jobs()))
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    try:
        jobs = [await harness.queue(user_id=100 + i) for i in range(8)]
        for job in jobs:
            await harness.wait_for(job.id, JobState.DELIVERED, timeout=30)
    finally:
        watcher.cancel()
    assert peak == 3
    submitted = [int((s.json or {})["track_id"].removeprefix("job-")) for s in harness.fake.submits()]
    ids = [j.id for j in jobs]
    # First come, first served: the first three queued are the first three sent (their requests
    # may reach the provider in any order, as they leave concurrently).
    assert sorted(submitted[:3]) == ids[:3]
    assert sorted(submitted) == ids


async def test_a_crashed_process_job_is_resumed_by_another_and_delivered_once(harness: Harness) -> None:
    harness.fake.render_seconds = 1.0
    first = harness.runner()
    await first.start()
    job = await harness.queue()
    await harness.wait_for(job.id, JobState.PROCESSING)
    await crash(first)

    second = harness.runner()
    await second.start()
    done = await harness.wait_for(job.id, JobState.DELIVERED, timeout=20)
    assert len(harness.fake.submits()) == 1
    assert [j for j, _ in harness.presenter.files] == [done.id]
    assert await harness.ledger(job.id) == [("debit", -job.cost)]


async def test_a_job_caught_mid_submit_is_refunded_not_resent(harness: Harness) -> None:
    job = await harness.queue()
    assert job.id is not None
    async with harness.sessions() as session, session.begin():
        row = await session.get(Job, job.id)
        assert row is not None
        row.state, row.submitted_at = JobState.SUBMITTING, utcnow()
        row.lease_owner, row.lease_expires_at = "dead-process", utcnow() - timedelta(seconds=1)
    await harness.runner().start()
    failed = await harness.wait_for(job.id, JobState.FAILED)
    assert failed.failure_reason == REASON_UNCERTAIN_SUBMIT
    assert harness.fake.submits() == []
    assert await harness.balance() == START


async def test_graceful_stop_hands_jobs_back_at_once(harness: Harness) -> None:
    harness.fake.render_seconds = 1.0
    first = harness.runner(lease_seconds=60)
    await first.start()
    job = await harness.queue()
    await harness.wait_for(job.id, JobState.PROCESSING)
    await first.stop()
    assert (await harness.job(job.id)).lease_owner is None

    await harness.runner(lease_seconds=60).start()
    await harness.wait_for(job.id, JobState.DELIVERED, timeout=10)


async def test_cancelled_job_is_refunded_and_never_submitted(harness: Harness) -> None:
    job = await harness.queue()
    assert job.id is not None
    cancelled = await harness.jobs.cancel(job.id, guild_id=1, user_id=7)
    assert cancelled.state == JobState.CANCELLED
    await harness.runner().start()
    await asyncio.sleep(0.5)
    assert harness.fake.submits() == []
    assert await harness.balance() == START


async def test_a_campaign_entry_is_also_posted_to_the_gallery(harness: Harness) -> None:
    campaigns = Campaigns(harness.sessions, harness.catalog)
    campaign = await campaigns.create(
        1,
        actor_id=1,
        announce_channel_id=2,
        spec=CampaignSpec(name="Fest", ends="1d", credits_per_member=100, gallery_channel_id=77),
    )
    await campaigns.join(1, 7, None)
    await harness.runner().start()
    entry = await harness.queue()
    done = await harness.wait_for(entry.id, JobState.DELIVERED)
    assert harness.presenter.gallery == [(done.id, campaign.id, True)]
    assert done.gallery_message_id == 7000 + done.id  # type: ignore[operator]
    plain = await harness.queue(user_id=8)  # not a participant: no gallery post
    await harness.wait_for(plain.id, JobState.DELIVERED)
    assert len(harness.presenter.gallery) == 1


async def test_a_queue_that_stays_full_never_fails_the_job(harness: Harness) -> None:
    await harness.runner(max_requeues=3).start()
    for _ in range(6):  # more refusals than max_requeues: a full queue is never counted
        harness.fake.fail_next_submit("queue_full", retry_after=0.05)
    job = await harness.queue()
    await harness.wait_for(job.id, JobState.DELIVERED)
    assert len(harness.fake.submits()) == 7


async def test_the_accounts_real_queue_becomes_the_limit(harness: Harness) -> None:
    harness.fake.queue_limit = 3  # the plan's queue, smaller than MAX_JOBS_IN_FLIGHT
    harness.fake.render_seconds = 1.0
    runner = harness.runner(max_at_provider=10)
    await runner.start()
    jobs = [await harness.queue(user_id=i) for i in range(10)]
    for job in jobs:
        await harness.wait_for(job.id, JobState.DELIVERED, timeout=60)
    assert runner.provider_limit.value == 3
    # Once told, the runner stops sending what it knows will be refused.
    assert harness.fake.refused_submits <= 7
    assert len(harness.fake.submits()) == 10 + harness.fake.refused_submits


@pytest.mark.parametrize("eta", [float("inf"), float("nan"), -5, 0, 1e12, "soon"])
async def test_absurd_etas_neither_crash_nor_spin_nor_park_the_job(harness: Harness, eta: object) -> None:
    harness.fake.wire_eta = eta
    await harness.runner(max_provider_wait=1.0).start()
    job = await harness.queue()
    await harness.wait_for(job.id, JobState.DELIVERED)
    assert len(harness.fake.fetches()) <= 10  # not a poll every millisecond


async def test_a_job_the_provider_does_not_know_yet_is_polled_again(harness: Harness) -> None:
    harness.fake.not_found_for_seconds = 0.5
    await harness.runner().start()
    job = await harness.queue()
    await harness.wait_for(job.id, JobState.DELIVERED)
    assert len(harness.fake.submits()) == 1
