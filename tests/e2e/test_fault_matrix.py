"""The fault matrix: ``python bot.py`` is killed (SIGKILL, no cleanup) with a job at each state, or runs
as two processes or two shards, on SQLite and on PostgreSQL; after each row the same invariants hold.

Nothing lost: every job ends delivered or refunded. Nothing twice: one video per delivered job, one
failure note per refunded one, one paid submit per job. Nothing stuck: no job left in progress, no
note left owed. Ledger = balance for every account, and each job's entries sum to its cost when
delivered, to zero when refunded.

The database outage has its own test (``test_database_outage.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from storage.states import REFUNDED_STATES, JobState
from storage.tables import Job
from tests.e2e.conftest import BotProcess, World, make_world
from tests.e2e.invariants import assert_books_balance, jobs_in, ledger_by_job
from tests.fakes.discord_server import HeldRequest
from tests.member import eventually, job_number

pytestmark = pytest.mark.e2e

Outcome = Literal["delivered", "refunded"]
DELIVERED: Outcome = "delivered"
REFUNDED: Outcome = "refunded"

MESSAGES = r"/channels/\d+/messages"
# A lone process may take a shorter lease than the e2e default (2 s): nobody else could take its
# jobs while it runs, and its restart resumes them sooner. Rows with two processes keep the default.
ALONE = {"JOB_LEASE_SECONDS": "1"}


@pytest.fixture
async def matrix_world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    """The fakes and an empty database (SQLite, then PostgreSQL) that the bot migrates itself."""
    async for world in make_world(tmp_path, db_url):
        yield world


# -- helpers --------------------------------------------------------------------------------------


async def new_job(world: World, prompt: str) -> int:
    return job_number(await world.run("video text", prompt=prompt, duration=4))


async def job_state(world: World, job_id: int) -> Job:
    return next(job for job in await jobs_in(world.database_url) if job.id == job_id)


async def until_state(world: World, job_id: int, state: JobState, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while (job := await job_state(world, job_id)).state != state:
        assert time.monotonic() < deadline, f"job {job_id} never reached {state} (is {job.state})"
        await asyncio.sleep(0.1)
    return job


def body_says(text: str) -> Callable[[Any], bool]:
    """A request body whose message content contains ``text``."""
    return lambda body: isinstance(body, dict) and text in str(body.get("content") or "")


async def kill_while_held(bot: BotProcess, held: HeldRequest) -> None:
    """Kill the bot while Discord holds its request, then let the fake finish it."""
    await held.wait_arrived(timeout=30)
    bot.kill()
    held.release()


async def restart_alone(world: World, **env: str) -> BotProcess:
    """Start the process again once the dead one's leases have run out, so that it resumes the
    jobs at its first look instead of at its next idle check."""
    await asyncio.sleep(float(ALONE["JOB_LEASE_SECONDS"]))
    return await world.start_bot(**ALONE, **env)


def holder(world: World, job: Job) -> BotProcess:
    """The bot process holding the job's lease (its owner name carries the process id)."""
    assert job.lease_owner is not None
    pid = int(job.lease_owner.split(":")[-2])
    return next(bot for bot in world.bots if bot.pid == pid)


def failure_notes(world: World, job_id: int) -> list[Any]:
    return [
        m
        for m in world.discord.messages.values()
        if not m.deleted and f"video #{job_id} did not work out" in m.content
    ]


def submits_of(world: World, job_id: int) -> int:
    return sum(1 for s in world.modelslab.submits() if (s.json or {}).get("track_id") == f"job-{job_id}")


async def assert_settled(world: World, expected: dict[int, Outcome], timeout: float = 60) -> None:
    """Wait until nothing is in progress, then check every invariant of the matrix."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = await jobs_in(world.database_url)
        stuck = [(j.id, j.state, j.failure_note_pending) for j in jobs if not j.state.is_final]
        stuck += [(j.id, j.state, True) for j in jobs if j.failure_note_pending]
        if not stuck:
            break
        assert time.monotonic() < deadline, f"jobs stuck: {stuck}"
        await asyncio.sleep(0.2)
    assert {j.id for j in jobs} == set(expected), "a job appeared or vanished"
    ledger = await ledger_by_job(world.database_url)
    for job in jobs:
        assert job.id is not None
        outcome = expected[job.id]
        videos, notes = world.videos(job.id), failure_notes(world, job.id)
        if outcome == DELIVERED:
            assert job.state == JobState.DELIVERED, (job.id, job.state, job.failure_reason)
            assert [v.id for v in videos] == [job.result_message_id], f"job {job.id}: {len(videos)} videos"
            assert submits_of(world, job.id) == 1, f"job {job.id} was submitted {submits_of(world, job.id)}x"
            assert notes == []
            assert ledger[job.id] == -job.cost
        else:
            assert job.state in REFUNDED_STATES, (job.id, job.state)
            assert videos == []
            assert len(notes) == 1, f"job {job.id}: {len(notes)} failure notes"
            assert submits_of(world, job.id) <= 1
            assert ledger[job.id] == 0, f"job {job.id} refunded {ledger[job.id] + job.cost} of {job.cost}"
    for job in jobs:
        # Nothing stale either: each status message ends showing how its job ended.
        assert job.status_message_id is not None
        status = world.discord.messages[job.status_message_id]
        title = f"Video #{job.id} · {job.state.label}"
        await eventually(
            lambda s=status, t=title: bool(s.embeds) and s.embeds[0].get("title") == t,  # type: ignore[misc]
            timeout=10,
            what=f"the status message to say {title!r}",
        )
    await assert_books_balance(world.database_url)
    world.assert_no_secrets_in_logs()


# -- the rows -------------------------------------------------------------------------------------


async def killed_while_queued(world: World) -> dict[int, Outcome]:
    """One job renders, the other waits for the only provider slot: killed, restarted."""
    world.modelslab.render_seconds = 2
    limit = {"MAX_JOBS_IN_FLIGHT": "1", **ALONE}
    bot = await world.start_bot(**limit)
    jobs = [await new_job(world, "first in line"), await new_job(world, "second in line")]
    await eventually(lambda: len(world.modelslab.submits()) == 1, what="the first submit")
    # Either may go first (a job is due once its status message is posted): the other waits, shown
    # as waiting. (Killed before its status message is posted, a job starts after a 15 s grace.)
    deadline = time.monotonic() + 10
    while None in [(await job_state(world, job_id)).status_message_id for job_id in jobs]:
        assert time.monotonic() < deadline, "a status message was never recorded"
        await asyncio.sleep(0.05)
    states = [(await job_state(world, job_id)).state for job_id in jobs]
    assert JobState.QUEUED in states, states
    bot.kill()
    await restart_alone(world, MAX_JOBS_IN_FLIGHT="1")
    return dict.fromkeys(jobs, DELIVERED)


async def killed_while_submitting(world: World) -> dict[int, Outcome]:
    """The provider took the submit but its reply never came back: the job may exist there, so it
    is refunded, never sent twice."""
    world.modelslab.fail_next_submit("timeout", create_job=True)
    bot = await world.start_bot(**ALONE)
    job_id = await new_job(world, "submitted into the void")
    await eventually(lambda: len(world.modelslab.submits()) == 1, what="the submit")
    bot.kill()
    await restart_alone(world)
    return {job_id: REFUNDED}


async def killed_while_processing(world: World) -> dict[int, Outcome]:
    world.modelslab.render_seconds = 2
    bot = await world.start_bot(**ALONE)
    job_id = await new_job(world, "rendering when the host died")
    await until_state(world, job_id, JobState.PROCESSING)
    bot.kill()
    await restart_alone(world)
    return {job_id: DELIVERED}


async def killed_mid_upload_reply_lost(world: World) -> dict[int, Outcome]:
    """Discord took the upload; the process died before the reply came."""
    held = world.discord.hold("POST", MESSAGES, when=body_says("is ready"), applied=True)
    bot = await world.start_bot(**ALONE)
    job_id = await new_job(world, "uploaded, then killed")
    await kill_while_held(bot, held)
    await restart_alone(world)
    return {job_id: DELIVERED}


async def killed_mid_upload_past_nonce_window(world: World) -> dict[int, Outcome]:
    """As above, restarted after Discord forgot the nonce: only the history scan prevents a second video."""
    world.discord.nonce_window = 0.2
    held = world.discord.hold("POST", MESSAGES, when=body_says("is ready"), applied=True)
    bot = await world.start_bot(**ALONE)
    job_id = await new_job(world, "uploaded long ago")
    await kill_while_held(bot, held)
    await asyncio.sleep(world.discord.nonce_window)
    await restart_alone(world)
    return {job_id: DELIVERED}


async def killed_mid_upload_never_arrived(world: World) -> dict[int, Outcome]:
    """The upload never reached Discord: the restarted process finds nothing and posts it."""
    held = world.discord.hold("POST", MESSAGES, when=body_says("is ready"), applied=False)
    bot = await world.start_bot(**ALONE)
    job_id = await new_job(world, "lost on the wire")
    await kill_while_held(bot, held)
    await restart_alone(world)
    return {job_id: DELIVERED}


async def killed_mid_refund_note_unsent(world: World) -> dict[int, Outcome]:
    """The provider failed the job; refunded, killed while the note to the owner was on its way."""
    world.modelslab.fail_next_fetch("failed", message="upstream model crashed")
    held = world.discord.hold("POST", MESSAGES, when=body_says("did not work out"), applied=False)
    bot = await world.start_bot(**ALONE)
    job_id = await new_job(world, "doomed at the provider")
    await kill_while_held(bot, held)
    await restart_alone(world)
    return {job_id: REFUNDED}


async def killed_mid_refund_note_posted_past_nonce_window(world: World) -> dict[int, Outcome]:
    """The note was posted but its reply lost, and the restart comes after the nonce expired."""
    world.discord.nonce_window = 0.2
    world.modelslab.fail_next_fetch("failed", message="upstream model crashed")
    held = world.discord.hold("POST", MESSAGES, when=body_says("did not work out"), applied=True)
    bot = await world.start_bot(**ALONE)
    job_id = await new_job(world, "doomed, and told once")
    await kill_while_held(bot, held)
    await asyncio.sleep(world.discord.nonce_window)
    await restart_alone(world)
    return {job_id: REFUNDED}


async def two_processes_holder_killed(world: World) -> dict[int, Outcome]:
    """Two processes on one database; the one rendering the job dies and the other takes it over
    when the lease runs out."""
    world.modelslab.render_seconds = 2
    await world.start_bot()
    await world.start_bot()
    job_id = await new_job(world, "one of two hosts dies")
    job = await until_state(world, job_id, JobState.PROCESSING)
    holder(world, job).kill()
    return {job_id: DELIVERED}


async def two_processes_holder_killed_mid_upload(world: World) -> dict[int, Outcome]:
    """Two processes; Discord took the upload of one, which died before the reply: the other takes
    the job over and finds the video in the thread instead of posting it again."""
    world.discord.nonce_window = 0.2
    held = world.discord.hold("POST", MESSAGES, when=body_says("is ready"), applied=True)
    await world.start_bot()
    await world.start_bot()
    job_id = await new_job(world, "uploaded by one host, recorded by the other")
    await held.wait_arrived(timeout=30)
    holder(world, await job_state(world, job_id)).kill()
    held.release()
    return {job_id: DELIVERED}


async def shards_in_two_processes(world: World) -> dict[int, Outcome]:
    """SHARD_COUNT=2 split over two processes. The test guild is on shard 1; its process accepts
    the jobs and is then killed: the process of shard 0, which never sees that guild on its gateway,
    delivers them (at once when it held them, after the lease when it takes them over), once."""
    world.modelslab.render_seconds = 2
    await world.start_bot(SHARD_COUNT="2", SHARD_IDS="0")
    shard_one = await world.start_bot(SHARD_COUNT="2", SHARD_IDS="1")
    assert world.discord.sessions[-1].shard == (1, 2)
    jobs = [await new_job(world, f"from shard one, scene {i}") for i in range(2)]
    await eventually(lambda: len(world.modelslab.submits()) == 2, what="both submits")
    shard_one.kill()
    return dict.fromkeys(jobs, DELIVERED)


@dataclass(frozen=True)
class Row:
    """A fault at a state; ``act`` makes it happen and says how each job must end; ``log_says``: a
    line the process that finished the work must have logged (the path the row is meant to take)."""

    fault: str
    state: str
    act: Callable[[World], Awaitable[dict[int, Outcome]]]
    log_says: str | None = None

    @property
    def id(self) -> str:
        return f"{self.fault}@{self.state}"


RESUMED = "resuming job"
ALREADY_POSTED = "its result was already posted"

MATRIX = [
    Row("sigkill", "queued", killed_while_queued, RESUMED),
    Row("sigkill", "submitting", killed_while_submitting, "not sending it again"),
    Row("sigkill", "processing", killed_while_processing, RESUMED),
    Row("sigkill", "delivering-reply-lost", killed_mid_upload_reply_lost, ALREADY_POSTED),
    Row("sigkill", "delivering-past-nonce-window", killed_mid_upload_past_nonce_window, ALREADY_POSTED),
    Row("sigkill", "delivering-upload-lost", killed_mid_upload_never_arrived, RESUMED),
    Row("sigkill", "refunding-note-unsent", killed_mid_refund_note_unsent, RESUMED),
    Row(
        "sigkill",
        "refunding-note-past-nonce-window",
        killed_mid_refund_note_posted_past_nonce_window,
        "the failure note was already posted",
    ),
    Row("two-processes", "processing", two_processes_holder_killed, RESUMED),
    Row(
        "two-processes",
        "delivering-past-nonce-window",
        two_processes_holder_killed_mid_upload,
        ALREADY_POSTED,
    ),
    Row("two-shards", "processing", shards_in_two_processes),
]


@pytest.mark.parametrize("row", MATRIX, ids=[row.id for row in MATRIX])
async def test_fault_matrix(matrix_world: World, row: Row) -> None:
    expected = await row.act(matrix_world)
    await assert_settled(matrix_world, expected)
    survivors = [bot for bot in matrix_world.bots if bot.running]
    killed = [bot for bot in matrix_world.bots if not bot.running]
    for job_id, outcome in expected.items():
        if outcome == DELIVERED:
            # Each row kills its processes before they deliver: the work was taken over.
            line = f"job {job_id} delivered"
            assert any(line in bot.log() for bot in survivors), f"no running process logged {line!r}"
            assert not any(line in bot.log() for bot in killed), f"a killed process logged {line!r}"
    if row.log_says is not None:
        assert any(row.log_says in bot.log() for bot in survivors), f"no process logged {row.log_says!r}"
