"""``python bot.py`` with ``PUBLIC_URL``: ModelsLab's webhooks reach the bot's own web server, a job
costs two ModelsLab calls, and a submit whose reply was lost is delivered instead of refunded."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import DISCORD_TOKEN, MODELSLAB_KEY, START_BALANCE, World
from tests.e2e.invariants import assert_books_balance, jobs_in
from tests.e2e.test_operations_process import free_port, get, samples
from tests.member import job_number
from videobot.config import Config

pytestmark = pytest.mark.e2e


async def test_webhooks_make_a_job_two_calls_and_recover_a_lost_submit_reply(world: World) -> None:
    port = free_port()
    secret = Config(discord_token=DISCORD_TOKEN, modelslab_api_key=MODELSLAB_KEY).webhook_secret
    # Polls ten seconds apart: a video ready in about one second shows the webhook at work.
    await world.start_bot(
        HTTP_PORT=str(port),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        POLL_MAX_SECONDS="10",
        WEBHOOK_WAIT_SECONDS="20",
    )
    modelslab = world.modelslab
    modelslab.webhook_mode = "twice"  # documented: "may be sent multiple times"

    first = job_number(await world.run("video text", prompt="a red fox in snow", duration=4))
    await world.video(first, timeout=8)
    [submit] = modelslab.submits()
    assert (submit.json or {})["webhook"] == f"http://127.0.0.1:{port}/modelslab/{secret}"
    [rendered] = modelslab.jobs.values()
    assert len(modelslab.fetches(rendered.provider_id)) == 1

    # The second submit reaches ModelsLab, which starts the job, but its reply is lost.
    modelslab.fail_next_submit("connection_drop", create_job=True)
    second = job_number(await world.run("video text", prompt="a grey owl at dusk", duration=4))
    await world.video(second, timeout=15)
    assert len(modelslab.submits()) == 2
    jobs = {job.id: job for job in await jobs_in(world.database_url)}
    assert jobs[second].state == "delivered"
    assert jobs[second].provider_id is not None
    assert len(modelslab.fetches(jobs[second].provider_id)) == 1
    await assert_books_balance(world.database_url)
    answer = await world.run("credits balance")
    assert f"{START_BALANCE - 80}" in answer, answer  # both charged once, neither refunded

    await modelslab.wait_for_webhooks(4)
    _, _, text = await get(f"http://127.0.0.1:{port}/metrics")
    assert samples(text, "videobot_modelslab_requests_total") == {'{call="submit"}': 2, '{call="fetch"}': 2}
    outcomes = samples(text, "videobot_webhooks_total")
    assert outcomes['{outcome="adopted"}'] == 1
    assert sum(outcomes.values()) == 4
    assert secret not in text
    assert secret not in world.bots[0].log()
    world.assert_no_secrets_in_logs()
