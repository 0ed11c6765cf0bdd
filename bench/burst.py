"""Bursts of ``/video text`` against ``bot.py``: acknowledgement latency, calls per job, 429s, throughput.

Members run the command at the same instant (the fake queues every INTERACTION_CREATE in one go);
the fake timestamps the dispatch and the arrival of each callback. Jobs are spread round-robin over
``channels`` text channels, one member per job.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from bench.harness import ACCEPTED, BenchWorld, MeasuredBot, percentile, spread, wait_until
from tests.fakes.discord_payloads import TOKEN_BOT, TOKEN_INTERACTION, FakeInteraction
from tests.member import CHANNEL, GUILD, MEMBER

PROMPT = "a paper boat drifting down a rainy street, cinematic"
END_STATES = frozenset({"Done", "Failed (refunded)", "Timed out (refunded)"})
QUIET_SECONDS = 11.0  # longer than the longest bucket window (thread creation: 10 s)
INTERACTION_ROUTES = {
    "POST /interactions/{interaction_id}/{interaction_token}/callback": "callback",
    "POST /webhooks/{webhook_id}/{webhook_token}": "followup",
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message}": "edit original",
}


@dataclass
class Acks:
    """How fast the bot acknowledged a burst of commands."""

    jobs: int
    latencies: list[float]  # seconds, dispatch → callback, for acknowledged interactions
    missed: int  # not acknowledged within Discord's 3 s (10062) or not at all
    accepted: list[float]  # seconds, dispatch → the member reads "Video #N accepted"
    interactions: list[FakeInteraction] = field(repr=False)

    @property
    def p50(self) -> float:
        """Median acknowledgement latency."""
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        """99th percentile acknowledgement latency."""
        return percentile(self.latencies, 99)


@dataclass
class Burst:
    """Everything measured while a burst of jobs went from command to posted video."""

    acks: Acks
    channels: int
    delivered: int
    failed: int
    seconds_to_last_video: float | None  # the last video (or failure note) posted; None: not all were
    seconds_to_last_call: float  # the last bot-token call Discord served
    no_status: int  # jobs without a status message (posting it failed)
    stale_status: int  # status messages left showing a state before the end
    bot_calls: int  # bot-token REST calls served (429s not counted)
    calls_by_route: Counter[str]
    bot_429: int
    global_429: int
    route_429: int
    interaction_429: int
    peak_per_second: int
    invalid_requests: int
    modelslab_submits: int
    modelslab_fetches: int
    modelslab_other: int
    vm_hwm_kib: int

    @property
    def calls_per_job(self) -> float:
        """Bot-token REST calls per delivered job."""
        return self.bot_calls / self.delivered if self.delivered else float("nan")

    @property
    def modelslab_calls(self) -> int:
        """Every ModelsLab API call of the burst."""
        return self.modelslab_submits + self.modelslab_fetches + self.modelslab_other

    @property
    def jobs_per_second(self) -> float:
        """Delivered jobs per second, from the burst to the last video posted."""
        seconds = self.seconds_to_last_video
        return self.delivered / seconds if seconds else float("nan")

    @property
    def ceiling(self) -> float:
        """Jobs per second the global limit allows at this many calls per job."""
        return 50 / self.calls_per_job if self.delivered else float("nan")


async def dispatch(world: BenchWorld, *, jobs: int, channels: int) -> list[FakeInteraction]:
    """``jobs`` members each run ``/video text`` in one of ``channels`` channels, all at once."""
    channel_ids = spread(world.ensure_channels(channels), jobs)
    members = world.ensure_members(jobs)
    return [
        await world.discord.invoke_slash(
            guild_id=GUILD,
            channel_id=channel_ids[i],
            user_id=members[i],
            command="video text",
            options={"prompt": f"{PROMPT} #{i}", "duration": 4},
        )
        for i in range(jobs)
    ]


async def collect_acks(world: BenchWorld, inters: list[FakeInteraction], *, wait_accepted: float) -> Acks:
    """Wait for every callback (or Discord's deadline), then up to ``wait_accepted`` s for the answers."""
    deadline = world.discord.ack_deadline + 2
    await wait_until(lambda: all(i.callback is not None or i.errors for i in inters), deadline)
    await wait_until(lambda: all(ACCEPTED.search(i.text) or i.errors for i in inters), wait_accepted, 0.25)
    latencies = [i.ack_seconds for i in inters if i.ack_seconds is not None]
    accepted: list[float] = []
    for inter in inters:
        original = inter.original
        if original is not None and original.edited_at is not None and ACCEPTED.search(original.text):
            # The answer is a followup that replaces the "thinking" placeholder: its edit time.
            dispatched_wall = time.time() - (time.monotonic() - inter.dispatched_at)
            accepted.append(original.edited_at.timestamp() - dispatched_wall)
    return Acks(len(inters), latencies, len(inters) - len(latencies), accepted, inters)


def job_ids(acks: Acks) -> set[int]:
    """The job numbers the members were told."""
    ids = set()
    for inter in acks.interactions:
        if match := ACCEPTED.search(inter.text):
            ids.add(int(match.group(1)))
    return ids


async def run_burst(world: BenchWorld, bot: MeasuredBot, *, jobs: int, channels: int, within: float) -> Burst:
    """Dispatch a burst, wait until every job is delivered and its status says Done (or ``within`` s)."""
    fake = world.discord
    fake.reset_counters()
    first_request = len(fake.requests)
    first_ml = len(world.modelslab.requests)
    started = time.monotonic()
    inters = await dispatch(world, jobs=jobs, channels=channels)
    acks = await collect_acks(world, inters, wait_accepted=within)
    ids = job_ids(acks)

    def remaining() -> float:
        return max(0.0, within - (time.monotonic() - started))

    def posted() -> bool:
        ready, failed, _ = world.job_index()
        return ids <= ready | failed

    last_video = time.monotonic() - started if await wait_until(posted, remaining(), 0.1) else None

    def settled() -> bool:
        # Every status message shows the end, or Discord has heard nothing for longer than any
        # bucket window (a status edit the bot dropped never comes).
        _, _, states = world.job_index()
        timeline = fake.traffic.bot_timeline
        quiet = not timeline or time.monotonic() - timeline[-1][0] > QUIET_SECONDS
        return all(states.get(i) in END_STATES for i in ids) or quiet

    await wait_until(settled, remaining(), 0.25)
    ready, failed, states = world.job_index()
    served_at = [at for at, status in fake.traffic.bot_timeline if status != 429]
    records = [r for r in fake.requests[first_request:] if r.token_kind == TOKEN_BOT and r.status != 429]
    ml_paths = [r.path for r in world.modelslab.requests[first_ml:]]
    submits = sum(p.endswith(("text-to-video", "image-to-video")) for p in ml_paths)
    fetches = sum("/fetch/" in p for p in ml_paths)
    traffic = fake.traffic
    return Burst(
        acks=acks,
        channels=channels,
        delivered=len(ids & ready),
        failed=len(ids & failed),
        seconds_to_last_video=last_video,
        seconds_to_last_call=(max(served_at) - started) if served_at else 0.0,
        no_status=sum(1 for i in ids if i not in states),
        stale_status=sum(1 for i in ids if i in states and states[i] not in END_STATES),
        bot_calls=traffic.served[TOKEN_BOT],
        calls_by_route=Counter(r.route or f"{r.method} {r.path} (unknown)" for r in records),
        bot_429=traffic.rate_limited[TOKEN_BOT],
        global_429=traffic.global_rate_limited,
        route_429=traffic.route_rate_limited,
        interaction_429=traffic.rate_limited[TOKEN_INTERACTION],
        peak_per_second=traffic.peak_bot_requests(1.0),
        invalid_requests=fake.invalid_requests,
        modelslab_submits=submits,
        modelslab_fetches=fetches,
        modelslab_other=len(ml_paths) - submits - fetches,
        vm_hwm_kib=bot.kib("VmHWM"),
    )


@dataclass
class LoneJob:
    """One job in an idle bot: every Discord call it made, in order."""

    calls: list[str]  # "bot POST /channels/{channel_id}/messages", "interaction callback", ...
    bot_calls: int
    modelslab_calls: int
    seconds: float


async def run_lone_job(world: BenchWorld, *, within: float) -> LoneJob:
    """A single ``/video text`` that starts at once, to its posted video and final status edit."""
    fake = world.discord
    fake.reset_counters()
    first_request = len(fake.requests)
    first_ml = len(world.modelslab.requests)
    started = time.monotonic()
    inter = await fake.invoke_slash(
        guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER, command="video text", options={"prompt": PROMPT}
    )
    await wait_until(lambda: ACCEPTED.search(inter.text) is not None or bool(inter.errors), within)
    match = ACCEPTED.search(inter.text)
    if match is None:
        raise RuntimeError(f"the lone job was not accepted: {inter.text!r} {inter.errors}")
    job_id = int(match.group(1))

    def finished() -> bool:
        ready, _, states = world.job_index()
        return job_id in ready and states.get(job_id) == "Done"

    if not await wait_until(finished, within):
        raise RuntimeError(f"the lone job #{job_id} was not delivered within {within} s")
    seconds = time.monotonic() - started
    calls = []
    for record in fake.requests[first_request:]:
        if record.token_kind == TOKEN_BOT:
            calls.append(f"bot {record.route or record.path}" + (" → 429" if record.status == 429 else ""))
        elif record.token_kind == TOKEN_INTERACTION:
            calls.append(f"interaction token: {INTERACTION_ROUTES.get(record.route or '', record.path)}")
    return LoneJob(
        calls=calls,
        bot_calls=fake.traffic.served[TOKEN_BOT],
        modelslab_calls=len(world.modelslab.requests) - first_ml,
        seconds=seconds,
    )
