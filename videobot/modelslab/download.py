"""Downloading a finished job's video, safely.

The output URL comes from the provider's answer, so it is untrusted input twice over:

* It may not serve a video: a 404 page (outputs expire, ``future_links`` exist before the file
  does), an HTML error page served with 200, an HEIC/AVIF image (they start with ``ftyp`` too), a
  cut-off file, or a file far bigger than Discord accepts. The body is streamed to disk in chunks
  and checked as it passes (`videobot.media.Mp4Scanner`: video brand, a ``moov`` box, whole boxes),
  and cut off as soon as it passes the size limit; the mirrors are tried when one URL fails.
* It may point inside our own network (SSRF): ``http://169.254.169.254/``, ``http://localhost:5432``,
  a name that resolves to ``10.0.0.5``, or a public URL that redirects to one of those. Only http(s)
  to public addresses is fetched. Private, loopback, link-local, CGNAT, unique-local, multicast and
  unspecified addresses (IPv4 and IPv6, IPv4-mapped included) are refused unless the URL's own
  (host, port) is on the allow-list, which is built from ``MODELSLAB_BASE_URL`` with
  `allowed_private_hosts` (so a loopback fake of ModelsLab still works in tests). Host names are
  resolved by the downloader's own resolver, which checks every address it returns, and the
  connection goes to exactly those checked addresses (no second lookup that DNS rebinding could
  answer differently); the Host header and TLS SNI keep the original name. Redirects are followed
  by hand, each hop checked the same way, at most ``max_redirects`` of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from videobot.media import Mp4Scanner, NotAVideo
from videobot.modelslab.errors import OutputUnavailable, Transient, UnsafeURL

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_REDIRECTS",
    "DownloadedVideo",
    "TooLarge",
    "allowed_private_hosts",
    "download_video",
    "is_public_address",
]

log = logging.getLogger(__name__)

_CHUNK_BYTES: Final = 256 * 1024
# Connecting to a CDN takes milliseconds; a host that does not answer within this is not worth the
# whole per-URL budget (the next mirror may work).
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_MAX_REDIRECTS: Final = 5
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})

# Networks whose addresses carry an IPv4 address inside an IPv6 one: the embedded address decides.
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class DownloadedVideo:
    """A video saved at ``path`` (``size`` bytes), downloaded from ``url``."""

    path: Path
    size: int
    url: str


@dataclass(frozen=True)
class TooLarge:
    """The video at ``url`` is bigger than allowed; nothing was kept on disk.

    ``size_hint`` is the size the server announced (Content-Length) or, without one, the number of
    bytes received before giving up (so a lower bound); None when neither is known.
    """

    url: str
    size_hint: int | None


class _NotAVideo(Exception):
    """This URL does not serve the video (4xx, HTML, empty): move on to the next one."""


class _Retryable(Exception):
    """This URL failed in a way that may heal (5xx, 429): move on, but report `Transient` at the end."""


class _Unsafe(Exception):
    """This URL (or a redirect from it) leads somewhere we do not fetch from."""


class _RefusedAddress(OSError):
    """Raised by the resolver; an OSError so aiohttp wraps it like any failed lookup."""


def allowed_private_hosts(base_url: str) -> frozenset[tuple[str, int]]:
    """The allow-list for `download_video` built from ``MODELSLAB_BASE_URL``: its (host, port).

    ``http://127.0.0.1:8123/api`` gives ``{("127.0.0.1", 8123)}``; ``https://modelslab.com/api``
    gives ``{("modelslab.com", 443)}`` (harmless: a public host needs no exception). Raises
    ValueError for a URL without an http(s) scheme and host.
    """
    url = URL(base_url)
    if url.scheme not in ("http", "https") or not url.host or url.port is None:
        raise ValueError("base_url must be an absolute http(s) URL")
    return frozenset({(_normal_host(url.host), url.port)})


def is_public_address(address: Address) -> bool:
    """True for a globally routable unicast address: the only kind the downloader connects to.

    False for private, loopback, link-local, CGNAT (100.64/10), unique-local (fc00::/7), multicast,
    reserved, documentation and unspecified addresses, and for IPv6 addresses that embed one of
    those (IPv4-mapped, 6to4, Teredo, NAT64).
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        embedded: list[Address] = []
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.append(address.teredo[1])
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if not all(is_public_address(inner) for inner in embedded):
            return False
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_private
        and not address.is_reserved
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_unspecified
    )


def _normal_host(host: str) -> str:
    return host.lower().rstrip(".")


def _parse_address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


class _GuardedResolver(AbstractResolver):
    """Resolves like aiohttp does, then refuses names with any non-public address.

    The connector connects to the addresses returned here, so what was checked is what is used.
    """

    def __init__(self, allowed: frozenset[tuple[str, int]]) -> None:
        self._inner = DefaultResolver()
        self._allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if (_normal_host(host), port) in self._allowed:
            return results
        for result in results:
            address = _parse_address(result["host"])
            if address is None or not is_public_address(address):
                raise _RefusedAddress(f"{host} resolves to the non-public address {result['host']}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _check_url(url: URL, allowed: frozenset[tuple[str, int]]) -> None:
    """Refuse what can be refused before connecting: the scheme, and hosts that are addresses."""
    if url.scheme not in ("http", "https"):
        raise _Unsafe(f"not an http(s) URL (scheme {url.scheme or 'none'!r})")
    host = url.host
    if not host or url.port is None:
        raise _Unsafe("no host")
    if (_normal_host(host), url.port) in allowed:
        return
    address = _parse_address(host)
    if address is None:
        with contextlib.suppress(OSError, UnicodeError):
            # "127.1", "2130706433", "0x7f.0.0.1": legacy spellings of an IPv4 address.
            socket.inet_aton(host)
            raise _Unsafe(f"the host {host!r} is an IPv4 address in a non-canonical form")
        return  # a name: the resolver checks what it resolves to
    if not is_public_address(address):
        raise _Unsafe(f"the non-public address {address}")


async def download_video(
    session: aiohttp.ClientSession | None,
    urls: Sequence[str],
    dest_dir: Path,
    *,
    max_bytes: int,
    # Per URL, not for the whole call, and applied through aiohttp's own timeout: an outer
    # asyncio.timeout could not tell "this mirror is slow" from "give up on every mirror".
    timeout: float = 300,  # noqa: ASYNC109
    allowed_private: Collection[tuple[str, int]] = (),
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
) -> DownloadedVideo | TooLarge:
    """Download the first of ``urls`` that serves an MP4 video into a new file in ``dest_dir``.

    ``urls`` are tried in order (the job's ``output`` first, then its mirrors). A URL that answers
    with an error status, a body that is not a whole MP4 movie, or that leads to a non-public
    address is skipped. A video larger than ``max_bytes`` returns `TooLarge` at once, with any
    partial file deleted, so the caller can post a link instead. ``timeout`` bounds each URL's
    download (redirects included) and ``connect_timeout`` each connection attempt, in seconds.

    ``allowed_private`` lists the (host, port) pairs that may be non-public addresses: pass
    ``allowed_private_hosts(MODELSLAB_BASE_URL)`` so a loopback fake works; leave it empty in
    production, where the provider's outputs are on public CDNs. ``session`` is not used for the
    transfer: the download runs on its own short-lived connection pool with the checking resolver,
    so a shared session's settings (proxies from the environment, cached connections) cannot route
    around the check. It is accepted for compatibility and may be None.

    Raises `UnsafeURL` when every URL was refused as unsafe, `Transient` when at least one failed
    for a reason that may go away (network error, timeout, 5xx), so trying again later makes sense,
    and `OutputUnavailable` otherwise.
    """
    del session  # see the docstring: deliberately not used
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    if max_redirects < 0 or connect_timeout <= 0 or timeout <= 0:
        raise ValueError("max_redirects must be >= 0 and the timeouts positive")
    allowed = frozenset((_normal_host(host), int(port)) for host, port in allowed_private)
    await asyncio.to_thread(dest_dir.mkdir, parents=True, exist_ok=True)
    problems: list[str] = []
    retryable = False
    unsafe = 0
    candidates = list(dict.fromkeys(urls))
    connector = aiohttp.TCPConnector(resolver=_GuardedResolver(allowed), limit=4)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as guarded:
        for url in candidates:
            shown = _for_log(url)
            try:
                return await _download_one(
                    guarded,
                    url,
                    dest_dir,
                    max_bytes=max_bytes,
                    url_timeout=timeout,
                    connect_timeout=connect_timeout,
                    max_redirects=max_redirects,
                    allowed=allowed,
                )
            except _Unsafe as exc:
                unsafe += 1
                problems.append(f"{shown}: refused: {exc}")
                log.warning("Video download refused %s", problems[-1])
                continue
            except aiohttp.ClientConnectorDNSError as exc:
                if isinstance(exc.os_error, _RefusedAddress):
                    unsafe += 1
                    problems.append(f"{shown}: refused: {exc.os_error}")
                    log.warning("Video download refused %s", problems[-1])
                    continue
                retryable = True
                problems.append(f"{shown}: could not resolve the host: {exc.os_error}")
            except _NotAVideo as exc:
                problems.append(f"{shown}: {exc}")
            except _Retryable as exc:
                retryable = True
                problems.append(f"{shown}: {exc}")
            except TimeoutError:
                retryable = True
                problems.append(f"{shown}: timed out after {timeout:g} s")
            except aiohttp.ClientError as exc:
                retryable = True
                problems.append(f"{shown}: {type(exc).__name__}: {_scrub_urls(str(exc), url)}")
            log.info("Video download skipped %s", problems[-1])
    summary = "; ".join(problems) or "no output URL given"
    if retryable:
        raise Transient(f"Could not download the video: {summary}")
    if candidates and unsafe == len(candidates):
        raise UnsafeURL(f"Refused every output URL: {summary}")
    raise OutputUnavailable(f"No output URL served a video: {summary}")


async def _download_one(
    session: aiohttp.ClientSession,
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    url_timeout: float,
    connect_timeout: float,
    max_redirects: int,
    allowed: frozenset[tuple[str, int]],
) -> DownloadedVideo | TooLarge:
    """Follow ``url`` through its redirects and stream the video to disk, or raise."""
    try:
        current = URL(url)
    except (ValueError, TypeError) as exc:
        raise _NotAVideo("not a URL") from exc
    loop = asyncio.get_running_loop()
    deadline = loop.time() + url_timeout
    for _ in range(max_redirects + 1):
        _check_url(current, allowed)
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError
        timeout = aiohttp.ClientTimeout(total=remaining, sock_connect=min(connect_timeout, remaining))
        async with session.get(current, allow_redirects=False, timeout=timeout) as response:
            if response.status in _REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise _NotAVideo(f"HTTP {response.status} without a Location")
                try:
                    current = response.url.join(URL(location))
                except (ValueError, TypeError) as exc:
                    raise _NotAVideo(f"HTTP {response.status} to a malformed Location") from exc
                log.debug("Video download of %s redirected to %s", _for_log(url), _for_log(str(current)))
                continue
            return await _save(response, url, dest_dir, max_bytes=max_bytes)
    raise _NotAVideo(f"more than {max_redirects} redirects")


async def _save(
    response: aiohttp.ClientResponse, url: str, dest_dir: Path, *, max_bytes: int
) -> DownloadedVideo | TooLarge:
    """Stream one answer to disk through the MP4 check, or raise `_NotAVideo` / `_Retryable`."""
    if response.status >= 500 or response.status == 429:
        raise _Retryable(f"HTTP {response.status}")
    if response.status != 200:
        raise _NotAVideo(f"HTTP {response.status}")
    content_type = response.headers.get("Content-Type", "no content type")
    scanner = Mp4Scanner()
    head: list[bytes] = []
    chunks = response.content.iter_chunked(_CHUNK_BYTES)
    try:
        # The ftyp box (a few dozen bytes, 4 KiB at most) decides before anything is written.
        while not scanner.brands_checked:
            chunk = await anext(chunks, b"")
            if not chunk:
                scanner.finish()
                break
            head.append(chunk)
            scanner.feed(chunk)
    except NotAVideo as exc:
        start = b"".join(head)[:8]
        raise _NotAVideo(f"not an MP4 video: {exc} ({content_type}, starts with {start!r})") from exc
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        log.info("Video at %s announces %s bytes, over the %s limit", _for_log(url), declared, max_bytes)
        return TooLarge(url=url, size_hint=declared)

    final = dest_dir / f"{uuid.uuid4().hex}.mp4"
    # Written under a temporary name and renamed at the end, so no half-written file ever
    # carries the final name, even if the task is cancelled mid-download.
    partial = final.with_name(f".{final.name}.part")
    handle = await asyncio.to_thread(partial.open, "wb")
    complete = False
    try:
        size = 0
        pending = iter(head)
        while True:
            chunk = next(pending, b"")
            if not chunk:
                fresh = await anext(chunks, b"")
                if not fresh:
                    break
                chunk = fresh
                try:
                    scanner.feed(chunk)
                except NotAVideo as exc:
                    raise _NotAVideo(f"not an MP4 video: {exc}") from exc
            size += len(chunk)
            if size > max_bytes:
                log.info("Video at %s passed the %s byte limit; stopped", _for_log(url), max_bytes)
                return TooLarge(url=url, size_hint=declared if declared is not None else size)
            await asyncio.to_thread(handle.write, chunk)
        try:
            scanner.finish()
        except NotAVideo as exc:
            raise _NotAVideo(f"not an MP4 video: {exc}") from exc
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(os.replace, partial, final)
        complete = True
    finally:
        if not complete:
            # Plain blocking calls: they must run even while the task is being cancelled.
            _discard(handle, partial)
    log.debug("Downloaded %s bytes from %s to %s", size, _for_log(url), final)
    return DownloadedVideo(path=final, size=size, url=url)


def _discard(handle: BinaryIO, path: Path) -> None:
    with contextlib.suppress(OSError):
        handle.close()
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _for_log(url: str) -> str:
    # Output URLs can be signed; the query string is the part that may act as a credential.
    try:
        return str(URL(url).with_query(None).with_fragment(None))
    except ValueError:
        return "(malformed URL)"


def _scrub_urls(text: str, url: str) -> str:
    """An aiohttp error text with the URL's query string (a possible signature) removed."""
    try:
        parsed = URL(url)
    except ValueError:
        return text
    if parsed.raw_query_string:
        text = text.replace(parsed.raw_query_string, "[query removed]")
        text = text.replace(parsed.query_string, "[query removed]")
    return text
