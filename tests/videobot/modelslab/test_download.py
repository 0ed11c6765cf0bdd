"""Downloading outputs from the fake: MP4 checks, size limits, proxy fallback, streaming."""

from __future__ import annotations

import socket

import pytest

from tests.fakes.modelslab_server import LARGE_VIDEO_SIZE, FakeModelsLab
from videobot.modelslab import (
    DownloadedVideo,
    JobStatus,
    ModelsLabClient,
    OutputUnavailable,
    ProviderJob,
    TooLarge,
    Transient,
    download_video,
)

VEO = {"model_id": "veo-3.1-fast", "prompt": "a lighthouse at night"}
MIB = 1024 * 1024


def pid(job: ProviderJob) -> str:
    """The job's provider id, which a processing job always has."""
    assert job.provider_id is not None
    return job.provider_id


async def finished_urls(client: ModelsLabClient, fake: FakeModelsLab) -> tuple[str, ...]:
    """Submit a job, let it finish and return its output URLs (output first, then proxy)."""
    job = await client.submit("text-to-video", VEO)
    fake.finish(pid(job))
    done = await client.fetch(pid(job))
    assert done.status is JobStatus.SUCCESS
    return done.output_urls


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_downloads_the_mp4(client, fake, session, tmp_path):
    urls = await finished_urls(client, fake)

    result = await download_video(session, urls, tmp_path, max_bytes=MIB)

    assert isinstance(result, DownloadedVideo)
    assert result.url == urls[0]
    assert result.path.parent == tmp_path
    assert result.path.suffix == ".mp4"
    assert result.size == fake.video_size
    assert result.path.read_bytes() == fake.video_bytes
    assert result.path.read_bytes()[4:8] == b"ftyp"
    assert list(tmp_path.iterdir()) == [result.path]  # no partial file left behind


async def test_exactly_max_bytes_is_allowed(client, fake, session, tmp_path):
    urls = await finished_urls(client, fake)
    result = await download_video(session, urls, tmp_path, max_bytes=fake.video_size)
    assert isinstance(result, DownloadedVideo)


@pytest.mark.parametrize("content_length", [True, False])
async def test_too_large_stops_and_removes_the_partial_file(client, fake, session, tmp_path, content_length):
    fake.use_large_video(3 * MIB)
    fake.send_content_length = content_length
    urls = await finished_urls(client, fake)

    result = await download_video(session, urls, tmp_path, max_bytes=MIB)

    assert isinstance(result, TooLarge)
    assert result.url == urls[0]
    if content_length:
        assert result.size_hint == 3 * MIB  # announced, so nothing was downloaded
    else:
        assert result.size_hint is not None
        assert MIB < result.size_hint < 3 * MIB  # stopped as soon as the limit was passed
    assert list(tmp_path.iterdir()) == []


async def test_one_byte_over_the_limit_is_too_large(client, fake, session, tmp_path):
    fake.send_content_length = False
    urls = await finished_urls(client, fake)
    result = await download_video(session, urls, tmp_path, max_bytes=fake.video_size - 1)
    assert result == TooLarge(url=urls[0], size_hint=fake.video_size)
    assert list(tmp_path.iterdir()) == []


async def test_streams_a_12_mib_video_to_disk(client, fake, session, tmp_path):
    fake.use_large_video()
    fake.send_content_length = False  # only counting the streamed bytes can tell the size
    urls = await finished_urls(client, fake)

    result = await download_video(session, urls, tmp_path, max_bytes=20 * MIB)

    assert isinstance(result, DownloadedVideo)
    assert result.size == LARGE_VIDEO_SIZE == 12 * MIB
    assert result.path.stat().st_size == 12 * MIB
    with result.path.open("rb") as video:
        assert video.read(8)[4:8] == b"ftyp"


async def test_404_output_falls_back_to_the_proxy(client, fake, session, tmp_path):
    job = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("output_404")
    done = await client.fetch(pid(job))
    assert done.status is JobStatus.SUCCESS

    result = await download_video(session, done.output_urls, tmp_path, max_bytes=MIB)

    assert isinstance(result, DownloadedVideo)
    assert result.url == fake.jobs[job.provider_id].proxy_url
    assert result.path.read_bytes() == fake.video_bytes
    assert fake.file_requests == [
        f"/generations/{fake.jobs[job.provider_id].output_name}",
        f"/proxy/{fake.jobs[job.provider_id].output_name}",
    ]


async def test_html_with_200_everywhere_is_output_unavailable(client, fake, session, tmp_path):
    job = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("not_mp4")
    done = await client.fetch(pid(job))

    with pytest.raises(OutputUnavailable) as caught:
        await download_video(session, done.output_urls, tmp_path, max_bytes=MIB)

    assert "not an MP4" in str(caught.value)
    assert len(fake.file_requests) == 2
    assert list(tmp_path.iterdir()) == []


async def test_html_output_with_a_working_proxy(client, fake, session, tmp_path):
    job = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("not_mp4", proxy_ok=True)
    done = await client.fetch(pid(job))
    result = await download_video(session, done.output_urls, tmp_path, max_bytes=MIB)
    assert isinstance(result, DownloadedVideo)
    assert result.url == done.output_urls[1]


async def test_future_link_before_the_job_is_done_is_unavailable(client, fake, session, tmp_path):
    job = await client.submit("text-to-video", VEO)
    future = fake.jobs[job.provider_id].output_url
    with pytest.raises(OutputUnavailable, match="HTTP 404"):
        await download_video(session, [future], tmp_path, max_bytes=MIB)


async def test_no_urls_is_output_unavailable(session, tmp_path):
    with pytest.raises(OutputUnavailable):
        await download_video(session, [], tmp_path, max_bytes=MIB)


async def test_network_error_is_transient(session, tmp_path):
    with pytest.raises(Transient):
        await download_video(session, [f"http://127.0.0.1:{closed_port()}/v.mp4"], tmp_path, max_bytes=MIB)
    assert list(tmp_path.iterdir()) == []


async def test_network_error_on_the_output_still_tries_the_proxy(client, fake, session, tmp_path):
    urls = await finished_urls(client, fake)
    dead = f"http://127.0.0.1:{closed_port()}/v.mp4"
    result = await download_video(session, [dead, urls[1]], tmp_path, max_bytes=MIB)
    assert isinstance(result, DownloadedVideo)
    assert result.url == urls[1]


async def test_dest_dir_is_created(client, fake, session, tmp_path):
    urls = await finished_urls(client, fake)
    result = await download_video(session, urls, tmp_path / "videos" / "new", max_bytes=MIB)
    assert isinstance(result, DownloadedVideo)
    assert result.path.parent == tmp_path / "videos" / "new"
