"""Downloading outputs from the fake: MP4 checks, size limits, proxy fallback, streaming, SSRF."""

from __future__ import annotations

import ipaddress
import logging
import socket
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.abc import ResolveResult

from tests.fakes.modelslab_server import LARGE_VIDEO_SIZE, FakeModelsLab
from videobot.modelslab import (
    DownloadedVideo,
    JobStatus,
    ModelsLabClient,
    OutputUnavailable,
    ProviderJob,
    TooLarge,
    Transient,
    UnsafeURL,
    allowed_private_hosts,
    download_video,
    is_public_address,
)
from videobot.modelslab import download as download_module

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


async def finished_job(client: ModelsLabClient, fake: FakeModelsLab) -> str:
    job = await client.submit("text-to-video", VEO)
    fake.finish(pid(job))
    return pid(job)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def allowed(fake: FakeModelsLab) -> frozenset[tuple[str, int]]:
    """The allow-list the runner builds from MODELSLAB_BASE_URL."""
    return allowed_private_hosts(fake.base_url)


async def download(fake, session, urls, tmp_path, **options):
    options.setdefault("max_bytes", MIB)
    options.setdefault("allowed_private", allowed(fake))
    return await download_video(session, urls, tmp_path, **options)


@pytest.fixture
async def decoy() -> AsyncIterator[tuple[str, list[str]]]:
    """Another loopback server (not the fake): an internal service an SSRF would reach."""
    hits: list[str] = []

    async def anything(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"internal secrets", content_type="video/mp4")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", hits
    await runner.cleanup()


# -- the happy paths and the size limit ---------------------------------------------------------


async def test_downloads_the_mp4(client, fake, session, tmp_path):
    urls = await finished_urls(client, fake)

    result = await download(fake, session, urls, tmp_path)

    assert isinstance(result, DownloadedVideo)
    assert result.url == urls[0]
    assert result.path.parent == tmp_path
    assert result.path.suffix == ".mp4"
    assert result.size == fake.video_size
    assert result.path.read_bytes() == fake.video_bytes
    assert result.path.read_bytes()[4:8] == b"ftyp"
    assert list(tmp_path.iterdir()) == [result.path]  # no partial file left behind


async def test_the_session_argument_may_be_none(client, fake, tmp_path):
    urls = await finished_urls(client, fake)
    result = await download(fake, None, urls, tmp_path)
    assert isinstance(result, DownloadedVideo)


async def test_exactly_max_bytes_is_allowed(client, fake, session, tmp_path):
    urls = await finished_urls(client, fake)
    result = await download(fake, session, urls, tmp_path, max_bytes=fake.video_size)
    assert isinstance(result, DownloadedVideo)


@pytest.mark.parametrize("content_length", [True, False])
async def test_too_large_stops_and_removes_the_partial_file(client, fake, session, tmp_path, content_length):
    fake.use_large_video(3 * MIB)
    fake.send_content_length = content_length
    urls = await finished_urls(client, fake)

    result = await download(fake, session, urls, tmp_path)

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
    result = await download(fake, session, urls, tmp_path, max_bytes=fake.video_size - 1)
    assert result == TooLarge(url=urls[0], size_hint=fake.video_size)
    assert list(tmp_path.iterdir()) == []


async def test_streams_a_12_mib_video_to_disk(client, fake, session, tmp_path):
    fake.use_large_video()
    fake.send_content_length = False  # only counting the streamed bytes can tell the size
    urls = await finished_urls(client, fake)

    result = await download(fake, session, urls, tmp_path, max_bytes=20 * MIB)

    assert isinstance(result, DownloadedVideo)
    assert result.size == LARGE_VIDEO_SIZE == 12 * MIB
    assert result.path.stat().st_size == 12 * MIB
    with result.path.open("rb") as video:
        assert video.read(8)[4:8] == b"ftyp"


async def test_a_40_mib_download_is_checked_without_holding_it_in_memory(client, fake, session, tmp_path):
    fake.use_large_video(40 * MIB)
    urls = await finished_urls(client, fake)
    tracemalloc.start()
    try:
        result = await download(fake, session, urls[:1], tmp_path, max_bytes=50 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(result, DownloadedVideo)
    assert result.size == 40 * MIB
    # The fake streams from the same process; both sides together stay far below the file size.
    assert peak < 8 * MIB


# -- mirrors and bodies that are not videos -----------------------------------------------------


async def test_404_output_falls_back_to_the_proxy(client, fake, session, tmp_path):
    job = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("output_404")
    done = await client.fetch(pid(job))
    assert done.status is JobStatus.SUCCESS

    result = await download(fake, session, done.output_urls, tmp_path)

    assert isinstance(result, DownloadedVideo)
    assert result.url == fake.jobs[pid(job)].proxy_url
    assert result.path.read_bytes() == fake.video_bytes
    assert fake.file_requests == [
        f"/generations/{fake.jobs[pid(job)].output_name}",
        f"/proxy/{fake.jobs[pid(job)].output_name}",
    ]


async def test_html_with_200_everywhere_is_output_unavailable(client, fake, session, tmp_path):
    job = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("not_mp4")
    done = await client.fetch(pid(job))

    with pytest.raises(OutputUnavailable) as caught:
        await download(fake, session, done.output_urls, tmp_path)

    assert type(caught.value) is OutputUnavailable
    assert "not an MP4" in str(caught.value)
    assert len(fake.file_requests) == 2
    assert list(tmp_path.iterdir()) == []


async def test_html_output_with_a_working_proxy(client, fake, session, tmp_path):
    job = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("not_mp4", proxy_ok=True)
    done = await client.fetch(pid(job))
    result = await download(fake, session, done.output_urls, tmp_path)
    assert isinstance(result, DownloadedVideo)
    assert result.url == done.output_urls[1]


@pytest.mark.parametrize(("mode", "why"), [("heic", "brand 'heic'"), ("avif", "brand 'avif'")])
async def test_heif_images_starting_with_ftyp_are_refused(client, fake, session, tmp_path, mode, why):
    provider_id = await finished_job(client, fake)
    fake.serve_output(provider_id, mode, proxy_mode=mode)
    done = await client.fetch(provider_id)

    with pytest.raises(OutputUnavailable) as caught:
        await download(fake, session, done.output_urls, tmp_path)

    assert why in str(caught.value)
    assert "image/" in str(caught.value)  # the content type is named for the log
    assert list(tmp_path.iterdir()) == []


async def test_heic_output_falls_back_to_a_real_video_on_the_proxy(client, fake, session, tmp_path):
    provider_id = await finished_job(client, fake)
    fake.serve_output(provider_id, "heic")
    done = await client.fetch(provider_id)
    result = await download(fake, session, done.output_urls, tmp_path)
    assert isinstance(result, DownloadedVideo)
    assert result.url == done.output_urls[1]


async def test_moov_at_the_end_is_a_video(client, fake, session, tmp_path):
    provider_id = await finished_job(client, fake)
    fake.serve_output(provider_id, "moov_at_end")
    done = await client.fetch(provider_id)
    result = await download(fake, session, done.output_urls[:1], tmp_path)
    assert isinstance(result, DownloadedVideo)
    data = result.path.read_bytes()
    assert data.index(b"moov") > data.index(b"mdat")


@pytest.mark.parametrize(("mode", "why"), [("no_moov", "no moov box"), ("truncated", "cut off")])
async def test_files_that_cannot_play_are_refused_and_removed(client, fake, session, tmp_path, mode, why):
    provider_id = await finished_job(client, fake)
    fake.serve_output(provider_id, mode)
    done = await client.fetch(provider_id)
    with pytest.raises(OutputUnavailable, match=why):
        await download(fake, session, done.output_urls[:1], tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_future_link_before_the_job_is_done_is_unavailable(client, fake, session, tmp_path):
    job = await client.submit("text-to-video", VEO)
    future = fake.jobs[pid(job)].output_url
    with pytest.raises(OutputUnavailable, match="HTTP 404"):
        await download(fake, session, [future], tmp_path)


async def test_no_urls_is_output_unavailable(session, tmp_path):
    with pytest.raises(OutputUnavailable) as caught:
        await download_video(session, [], tmp_path, max_bytes=MIB)
    assert type(caught.value) is OutputUnavailable


async def test_network_error_is_transient(session, tmp_path):
    port = closed_port()
    with pytest.raises(Transient):
        await download_video(
            session,
            [f"http://127.0.0.1:{port}/v.mp4"],
            tmp_path,
            max_bytes=MIB,
            allowed_private={("127.0.0.1", port)},
        )
    assert list(tmp_path.iterdir()) == []


async def test_network_error_on_the_output_still_tries_the_proxy(client, fake, session, tmp_path):
    urls = await finished_urls(client, fake)
    port = closed_port()
    dead = f"http://127.0.0.1:{port}/v.mp4"
    result = await download(
        fake, session, [dead, urls[1]], tmp_path, allowed_private=allowed(fake) | {("127.0.0.1", port)}
    )
    assert isinstance(result, DownloadedVideo)
    assert result.url == urls[1]


async def test_dest_dir_is_created(client, fake, session, tmp_path):
    urls = await finished_urls(client, fake)
    result = await download(fake, session, urls, tmp_path / "videos" / "new")
    assert isinstance(result, DownloadedVideo)
    assert result.path.parent == tmp_path / "videos" / "new"


# -- redirects --------------------------------------------------------------------------------


async def test_a_redirect_on_the_same_host_is_followed(client, fake, session, tmp_path):
    provider_id = await finished_job(client, fake)
    fake.serve_output(provider_id, "redirect")
    done = await client.fetch(provider_id)

    result = await download(fake, session, done.output_urls[:1], tmp_path)

    assert isinstance(result, DownloadedVideo)
    assert result.url == done.output_urls[0]  # the URL the provider gave, not the hop
    name = fake.jobs[provider_id].output_name
    assert fake.file_requests == [f"/generations/{name}", f"/files/{name}"]


async def test_a_redirect_loop_stops_at_the_cap(client, fake, session, tmp_path):
    provider_id = await finished_job(client, fake)
    job = fake.jobs[provider_id]
    fake.serve_output(provider_id, "redirect", redirect_to=job.output_url)
    with pytest.raises(OutputUnavailable, match="more than 2 redirects"):
        await download(fake, session, [job.output_url], tmp_path, max_redirects=2)
    assert len(fake.file_requests) == 3


# -- SSRF: only public addresses, except the configured ModelsLab host itself --------------------


async def test_a_redirect_to_another_loopback_service_is_refused(client, fake, session, tmp_path, decoy):
    decoy_url, hits = decoy
    provider_id = await finished_job(client, fake)
    fake.serve_output(provider_id, "redirect", proxy_mode="redirect", redirect_to=f"{decoy_url}/admin")
    done = await client.fetch(provider_id)

    with pytest.raises(UnsafeURL) as caught:
        await download(fake, session, done.output_urls, tmp_path)

    assert hits == []  # never connected
    assert "non-public address 127.0.0.1" in str(caught.value)
    assert isinstance(caught.value, OutputUnavailable)  # the runner's existing handling applies
    assert list(tmp_path.iterdir()) == []


async def test_loopback_output_is_refused_without_the_allow_list(client, fake, session, tmp_path):
    urls = await finished_urls(client, fake)
    with pytest.raises(UnsafeURL):
        await download_video(session, urls, tmp_path, max_bytes=MIB)
    assert fake.file_requests == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "255.255.255.255",
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fc00::1]",
        "[fd12:3456::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[ff02::1]",
        "[2002:7f00:1::]",  # 6to4 around 127.0.0.1
        "[64:ff9b::a00:1]",  # NAT64 around 10.0.0.1
        "2130706433",  # 127.0.0.1 as one number
        "127.1",
        "0x7f.0.0.1",
    ],
)
async def test_non_public_addresses_are_refused_before_connecting(session, tmp_path, host):
    with pytest.raises(UnsafeURL):
        await download_video(session, [f"http://{host}:9/video.mp4"], tmp_path, max_bytes=MIB)


@pytest.mark.parametrize("url", ["ftp://cdn.example.com/v.mp4", "file:///etc/passwd", "data:video/mp4,AAAA"])
async def test_only_http_and_https_are_fetched(session, tmp_path, url):
    with pytest.raises(UnsafeURL, match="not an http"):
        await download_video(session, [url], tmp_path, max_bytes=MIB)


async def test_a_name_resolving_to_loopback_is_refused_on_the_fakes_port(client, fake, session, tmp_path):
    job = await client.submit("text-to-video", VEO)
    fake.finish(pid(job))
    by_name = fake.jobs[pid(job)].output_url.replace("127.0.0.1", "localhost")

    with pytest.raises(UnsafeURL, match="localhost resolves to the non-public address"):
        await download(fake, session, [by_name], tmp_path)

    assert fake.file_requests == []


async def test_allow_list_is_host_and_port_of_the_base_url(fake):
    port = int(fake.base_url.split(":")[2].split("/")[0])
    assert allowed_private_hosts(fake.base_url) == {("127.0.0.1", port)}
    assert allowed_private_hosts("https://ModelsLab.com/api") == {("modelslab.com", 443)}
    with pytest.raises(ValueError, match="http"):
        allowed_private_hosts("ftp://x/")


class StubResolver:
    """Answers every lookup with fixed addresses, as a hostile or rebinding DNS server would."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.lookups: list[tuple[str, int]] = []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.lookups.append((host, port))
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self.addresses
        ]

    async def close(self):
        pass


async def test_the_connection_goes_to_the_checked_address_and_keeps_the_host_name(
    client, fake, session, tmp_path, monkeypatch
):
    stub = StubResolver("127.0.0.1")
    monkeypatch.setattr(download_module, "DefaultResolver", lambda: stub)
    provider_id = await finished_job(client, fake)
    port = int(fake.server_url.rsplit(":", 1)[1])
    url = fake.jobs[provider_id].output_url.replace("127.0.0.1", "videos.example.test")

    result = await download_video(
        session, [url], tmp_path, max_bytes=MIB, allowed_private={("videos.example.test", port)}
    )

    assert isinstance(result, DownloadedVideo)
    assert stub.lookups == [("videos.example.test", port)]  # one lookup, used for the connection
    assert fake.file_hosts == [f"videos.example.test:{port}"]  # Host header kept


@pytest.mark.parametrize(
    "addresses",
    [("127.0.0.1",), ("93.184.215.14", "10.1.2.3"), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::1")],
)
async def test_a_name_with_any_non_public_address_is_refused(
    client, fake, session, tmp_path, monkeypatch, addresses
):
    stub = StubResolver(*addresses)
    monkeypatch.setattr(download_module, "DefaultResolver", lambda: stub)
    with pytest.raises(UnsafeURL, match=r"rebind\.example\.test resolves to the non-public address"):
        await download_video(session, ["http://rebind.example.test/v.mp4"], tmp_path, max_bytes=MIB)
    assert stub.lookups == [("rebind.example.test", 80)]


async def test_an_unsafe_output_falls_back_to_a_safe_mirror(client, fake, session, tmp_path, decoy):
    decoy_url, hits = decoy
    urls = await finished_urls(client, fake)
    result = await download(fake, session, [f"{decoy_url}/v.mp4", urls[1]], tmp_path)
    assert isinstance(result, DownloadedVideo)
    assert result.url == urls[1]
    assert hits == []


async def test_refusals_are_logged_without_query_strings(session, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "sig=SECRET-SIGNATURE-123"
    with pytest.raises(UnsafeURL) as caught:
        await download_video(session, [f"http://169.254.169.254/latest?{secret}"], tmp_path, max_bytes=MIB)
    assert "SECRET-SIGNATURE" not in str(caught.value)
    assert "http://169.254.169.254/latest" in caplog.text
    assert "SECRET-SIGNATURE" not in caplog.text


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("100.63.255.255", True),
        ("100.64.0.0", False),
        ("100.127.255.255", False),
        ("198.18.0.1", False),
        ("192.0.2.1", False),
        ("240.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2001:db8::1", False),
        ("fe80::1%1", False),
    ],
)
def test_is_public_address(address, public):
    assert is_public_address(ipaddress.ip_address(address.split("%")[0])) is public
