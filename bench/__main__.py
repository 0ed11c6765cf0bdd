"""``python -m bench [--smoke]``: run the benchmarks and print one figure a line.

With ``--smoke`` a small version runs (well under a minute) and the exit status is 1 when a figure
is worse than ``SMOKE_FACTOR`` times today's value, a job is lost, an acknowledgement is missed or
the bot process died.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, replace

from bench.burst import Acks, Burst, collect_acks, dispatch, run_burst, run_lone_job
from bench.harness import Report, bench_world, machine, mib, percentile
from bench.memory import large_video_memory, queued_memory
from bench.statements import POLL_MAX, POLL_MIN, RENDER, Statements, count_statements, postgres_configured
from tests.fakes.discord_payloads import DEFAULT_GLOBAL_LIMIT, DEFAULT_ROUTE_LIMITS

# Today's figures (measured before any optimisation, with the smoke plan), which the smoke run
# must stay within SMOKE_FACTOR of: bot-token calls per job (status post, thread, three status
# edits, the video), ModelsLab calls per job (submit, one fetch), statements of one /video text to
# its answer on SQLite (BEGIN IMMEDIATE included), peak RSS of bot.py.
TODAY_BOT_CALLS_PER_JOB = 6.0
TODAY_MODELSLAB_CALLS_PER_JOB = 2.0
TODAY_STATEMENTS_PER_COMMAND = 12.0
TODAY_PEAK_RSS_MIB = 105.0
SMOKE_FACTOR = 3.0


@dataclass(frozen=True)
class Plan:
    """What to run; the full plan fits in about ten minutes on two cores."""

    burst_jobs: int = 150
    burst_channels: int = 50
    one_channel_jobs: int = 20
    ack_sizes: tuple[int, ...] = (500, 1000)
    render_seconds: float = 4.0
    poll_min: float = 5.0
    queued: tuple[int, ...] = (0, 1000, 10_000)
    large_videos: int = 20
    large_video_bytes: int = 40 * 1000 * 1000
    postgres: bool = True
    burst_seconds: float = 300.0
    statements: bool = True


SMOKE = Plan(
    burst_jobs=20,
    burst_channels=10,
    one_channel_jobs=0,
    ack_sizes=(),
    render_seconds=1.0,
    poll_min=1.0,
    queued=(),
    large_videos=0,
    postgres=False,
    burst_seconds=45.0,
)


def _seconds(value: float | None) -> str:
    return "did not finish" if value is None else f"{value:.1f} s"


def print_parameters(report: Report, plan: Plan) -> None:
    """The run's parameters, so that figures from different runs can be compared."""
    report.note(f"machine: {machine()}")
    buckets = ", ".join(f"{k} {v.limit}/{v.per:g} s" for k, v in DEFAULT_ROUTE_LIMITS.items())
    report.note(
        f"FakeDiscord: rate limits on, global {DEFAULT_GLOBAL_LIMIT}/s per bot token (fixed 1 s windows), "
        f"buckets per channel: {buckets}, other routes 50/1 s; 3 s ack deadline"
    )
    report.note(
        f"FakeModelsLab: render {plan.render_seconds:g} s, queue limit 100000; bot.py on SQLite, "
        f"LOG_LEVEL=INFO, POLL_MIN/MAX_SECONDS={plan.poll_min:g}/30, MAX_JOBS_IN_FLIGHT = jobs in the burst, "
        "one member per job, veo-3.1-fast 4 s"
    )


def print_acks(report: Report, acks: Acks, **params: object) -> None:
    """Acknowledgement latency of a burst."""
    report.line(
        f"ack latency, {acks.jobs} concurrent /video text",
        f"p50 {acks.p50 * 1000:.0f} ms, p99 {acks.p99 * 1000:.0f} ms, max "
        f"{max(acks.latencies, default=float('nan')) * 1000:.0f} ms, missed (> 3 s) {acks.missed}",
        **params,
    )


def print_burst(report: Report, burst: Burst, plan: Plan, label: str) -> None:
    """Every figure of a delivered burst."""
    jobs, channels = burst.acks.jobs, burst.channels
    params = {"jobs": jobs, "channels": channels, "render": f"{plan.render_seconds:g} s"}
    print_acks(report, burst.acks, **params)
    if burst.acks.accepted:
        report.line(
            f"{label}: member reads 'accepted' after",
            f"p50 {percentile(burst.acks.accepted, 50):.1f} s, "
            f"p99 {percentile(burst.acks.accepted, 99):.1f} s",
            **params,
        )
    report.line(
        f"{label}: delivered",
        f"{burst.delivered}/{jobs} (failed {burst.failed}, lost {jobs - burst.delivered - burst.failed})",
        **params,
    )
    report.line(
        f"{label}: duration",
        f"last video posted {_seconds(burst.seconds_to_last_video)}, last Discord call "
        f"{burst.seconds_to_last_call:.1f} s",
        **params,
    )
    report.line(
        f"{label}: status messages",
        f"{burst.stale_status} left showing an earlier state, {burst.no_status} never posted",
        **params,
    )
    report.line(f"{label}: bot-token REST calls per delivered job", f"{burst.calls_per_job:.2f}", **params)
    per_route = ", ".join(
        f"{route} {count / max(1, burst.delivered):.2f}"
        for route, count in burst.calls_by_route.most_common()
    )
    report.line(f"{label}: per job by route", per_route, **params)
    report.line(
        f"{label}: 429s from Discord",
        f"{burst.bot_429} with the bot token (global {burst.global_429}, per-route {burst.route_429}), "
        f"{burst.interaction_429} on interaction routes; invalid requests (401/403/429) "
        f"{burst.invalid_requests}",
        **params,
    )
    report.line(
        f"{label}: peak bot-token requests in any 1 s", f"{burst.peak_per_second} (limit 50)", **params
    )
    report.line(
        f"{label}: delivered jobs/s ÷ ceiling",
        f"{burst.jobs_per_second:.2f} ÷ {burst.ceiling:.2f} = {burst.jobs_per_second / burst.ceiling:.1%} "
        f"(ceiling = 50 ÷ {burst.calls_per_job:.2f} calls per job)",
        **params,
    )
    delivered = max(1, burst.delivered)
    report.line(
        f"{label}: ModelsLab calls per job",
        f"{burst.modelslab_calls / delivered:.2f} (submit {burst.modelslab_submits / delivered:.2f}, "
        f"fetch {burst.modelslab_fetches / delivered:.2f}, other {burst.modelslab_other / delivered:.2f})",
        **params,
    )
    report.line(f"{label}: peak RSS of bot.py (VmHWM)", mib(burst.vm_hwm_kib), **params)


def print_statements(report: Report, result: Statements) -> None:
    """Statement counts of one database."""
    db = result.database
    for name, span in (
        ("first /video text of a member, to the answer", result.first_command),
        ("/video text, to the answer", result.command),
        ("/video text, whole job to the final status edit", result.job),
    ):
        report.line(
            f"database statements, {name}",
            f"{span.statements} statements + {span.begins} BEGIN, {span.transactions} transactions "
            f"({span.seconds:.1f} s)",
            database=db,
        )
    kinds = ", ".join(f"{k} {v}" for k, v in result.by_kind.most_common())
    report.line("database statements of that whole job by kind", kinds, database=db)
    report.line(
        "database statements while idle",
        f"{result.idle_per_second:.2f}/s (included in the spans above)",
        database=db,
        poll=f"{POLL_MIN:g}/{POLL_MAX:g} s",
        render=f"{RENDER:g} s",
    )


async def run(plan: Plan, report: Report, *, smoke: bool) -> None:
    """Run the plan and print as figures come in."""
    print_parameters(report, plan)
    env = {"POLL_MIN_SECONDS": str(plan.poll_min)}

    if plan.burst_jobs:
        async with bench_world(render_seconds=plan.render_seconds) as world:
            bot = await world.start_measured_bot(MAX_JOBS_IN_FLIGHT=str(plan.burst_jobs), **env)
            lone = await run_lone_job(world, within=60)
            report.line(
                "lone job (starts at once): bot-token REST calls",
                f"{lone.bot_calls} ({lone.seconds:.1f} s to the final status edit, "
                f"{lone.modelslab_calls} ModelsLab calls)",
            )
            report.line("lone job: Discord calls in order", " → ".join(lone.calls))
            burst = await run_burst(
                world, bot, jobs=plan.burst_jobs, channels=plan.burst_channels, within=plan.burst_seconds
            )
            print_burst(report, burst, plan, "burst")
            if smoke:
                _smoke_checks(report, burst, world_running=bot.running, log=bot.log())

    if plan.one_channel_jobs:
        async with bench_world(render_seconds=plan.render_seconds) as world:
            bot = await world.start_measured_bot(MAX_JOBS_IN_FLIGHT=str(plan.one_channel_jobs), **env)
            burst = await run_burst(
                world, bot, jobs=plan.one_channel_jobs, channels=1, within=plan.burst_seconds
            )
            print_burst(report, burst, plan, "one channel")

    for size in plan.ack_sizes:
        async with bench_world(render_seconds=plan.render_seconds) as world:
            await world.start_measured_bot(MAX_JOBS_IN_FLIGHT=str(size), **env)
            started = time.monotonic()
            inters = await dispatch(world, jobs=size, channels=plan.burst_channels)
            dispatched = time.monotonic() - started
            acks = await collect_acks(world, inters, wait_accepted=0)
            print_acks(report, acks, jobs=size, channels=plan.burst_channels, dispatch=f"{dispatched:.2f} s")

    for count in plan.queued:
        memory = await queued_memory(count)
        report.line(
            f"RSS of bot.py with {count} jobs queued",
            f"peak {mib(memory.vm_hwm_kib)}, now {mib(memory.vm_rss_kib)}",
            MAX_JOBS_IN_FLIGHT=1,
            inserted="directly in SQLite",
        )

    if plan.large_videos:
        large = await large_video_memory(
            plan.large_videos,
            plan.large_video_bytes,
            channels=plan.burst_channels,
            within=plan.burst_seconds,
        )
        report.line(
            f"RSS added delivering {large.videos} videos of {large.size / 1e6:.0f} MB",
            f"{mib(large.added_kib)} (RSS before {mib(large.rss_before_kib)}, peak after "
            f"{mib(large.hwm_after_kib)}; uploaded {large.uploaded}/{large.videos}, "
            f"delivered {large.burst.delivered})",
            guild="boost tier 2 (50 MiB uploads)",
            channels=plan.burst_channels,
        )

    if not plan.statements:
        return
    sqlite = await _statements_sqlite()
    print_statements(report, sqlite)
    if smoke:
        report.at_most(
            "statements per /video text (SQLite)",
            sqlite.command.statements + sqlite.command.begins,
            TODAY_STATEMENTS_PER_COMMAND,
            SMOKE_FACTOR,
        )
    if plan.postgres:
        if postgres_configured():
            print_statements(report, await _statements_postgres())
        else:
            report.line("database statements, PostgreSQL", "skipped: no PostgreSQL (set TEST_POSTGRES_URL)")


async def _statements_sqlite() -> Statements:
    with tempfile.TemporaryDirectory(prefix="videobot-bench-sqlite-") as tmp:
        return await count_statements(f"sqlite+aiosqlite:///{tmp}/bench.db", "SQLite")


async def _statements_postgres() -> Statements:
    from tests.conftest import create_postgres_database, drop_postgres_database

    url = await create_postgres_database()
    try:
        return await count_statements(url, "PostgreSQL")
    finally:
        await drop_postgres_database(url)


def _smoke_checks(report: Report, burst: Burst, *, world_running: bool, log: str) -> None:
    jobs = burst.acks.jobs
    report.check("bot process", world_running, "bot.py exited during the run")
    report.check("tracebacks", "Traceback" not in log, "bot.py logged a traceback")
    report.check("acknowledgements", burst.acks.missed == 0, f"{burst.acks.missed} of {jobs} missed")
    report.check(
        "jobs lost",
        burst.delivered == jobs,
        f"delivered {burst.delivered} of {jobs} (failed {burst.failed})",
    )
    report.check("finished", burst.seconds_to_last_video is not None, "not every video was posted in time")
    report.check(
        "status messages",
        burst.stale_status == 0 and burst.no_status == 0,
        f"{burst.stale_status} stale, {burst.no_status} never posted",
    )
    report.at_most("bot-token REST calls per job", burst.calls_per_job, TODAY_BOT_CALLS_PER_JOB, SMOKE_FACTOR)
    modelslab = burst.modelslab_calls / max(1, burst.delivered)
    report.at_most("ModelsLab calls per job", modelslab, TODAY_MODELSLAB_CALLS_PER_JOB, SMOKE_FACTOR)
    report.at_most("peak RSS (MiB)", burst.vm_hwm_kib / 1024, TODAY_PEAK_RSS_MIB, SMOKE_FACTOR)


def main(argv: list[str] | None = None) -> int:
    """Entry point; the exit status is 1 when a smoke bound failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a small run with regression bounds")
    parser.add_argument(
        "--burst-only",
        action="store_true",
        help="only the lone job and the burst (a couple of minutes): no one-channel burst, acks, memory "
        "or statement counts",
    )
    parser.add_argument(
        "--acks-only",
        action="store_true",
        help="only the acknowledgement latency at 500 and 1,000 concurrent commands (about a minute)",
    )
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else Plan()
    if args.acks_only:
        plan = replace(
            plan,
            burst_jobs=0,
            one_channel_jobs=0,
            queued=(),
            large_videos=0,
            postgres=False,
            statements=False,
        )
    if args.burst_only:
        plan = replace(
            plan,
            one_channel_jobs=0,
            ack_sizes=(),
            queued=(),
            large_videos=0,
            postgres=False,
            statements=False,
        )
    report = Report()
    started = time.monotonic()
    asyncio.run(run(plan, report, smoke=args.smoke))
    report.note(f"total {time.monotonic() - started:.0f} s")
    if report.failures:
        print(f"bench-smoke: {len(report.failures)} bound(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
