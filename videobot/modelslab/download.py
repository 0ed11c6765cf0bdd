"""Downloading a finished job's video, safely.

The output URL can be a 404 page (outputs expire, ``future_links`` exist before the file does), an
HTML error page served with 200, or a file far bigger than Discord accepts. So the body is streamed
to disk in chunks, checked to start like an MP4, and cut off as soon as it passes the size limit;
the ``proxy_links`` mirrors are tried when the primary output fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

import aiohttp
from yarl import URL

from videobot.media import is_mp4
from videobot.modelslab.envelope import is_http_url
from videobot.modelslab.errors import OutputUnavailable, Transient

__all__ = ["DownloadedVideo", "TooLarge", "download_video"]

log = logging.getLogger(__name__)

_CHUNK_BYTES: Final = 256 * 1024
# `is_mp4` looks at bytes 4..8; a few more cost nothing.
_HEAD_BYTES: Final = 16


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


async def download_video(
    session: aiohttp.ClientSession,
    urls: Sequence[str],
    dest_dir: Path,
    *,
    max_bytes: int,
    # Per URL, not for the whole call, and applied through aiohttp's own timeout: an outer
    # asyncio.timeout could not tell "this mirror is slow" from "give up on every mirror".
    timeout: float = 300,  # noqa: ASYNC109
) -> DownloadedVideo | TooLarge:
    """Download the first of ``urls`` that serves an MP4 into a new file in ``dest_dir``.

    ``urls`` are tried in order (the job's ``output`` first, then its proxy mirrors). A URL that
    answers with an error status or a body that is not an MP4 is skipped. A video larger than
    ``max_bytes`` returns `TooLarge` at once, with any partial file deleted, so the caller can post a
    link instead. ``timeout`` bounds each URL's download, in seconds.

    Raises `OutputUnavailable` when no URL served a video, or `Transient` when at least one failed
    for a reason that may go away (network error, timeout, 5xx), so trying again later makes sense.
    """
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    await asyncio.to_thread(dest_dir.mkdir, parents=True, exist_ok=True)
    problems: list[str] = []
    retryable = False
    for url in dict.fromkeys(urls):
        shown = _for_log(url)
        try:
            return await _download_one(session, url, dest_dir, max_bytes=max_bytes, url_timeout=timeout)
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
            problems.append(f"{shown}: {type(exc).__name__}: {exc}")
        log.info("Video download skipped %s", problems[-1])
    summary = "; ".join(problems) or "no output URL given"
    if retryable:
        raise Transient(f"Could not download the video: {summary}")
    raise OutputUnavailable(f"No output URL served a video: {summary}")


async def _download_one(
    session: aiohttp.ClientSession,
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    url_timeout: float,
) -> DownloadedVideo | TooLarge:
    """Stream one URL to disk, or raise `_NotAVideo` / `_Retryable` / an aiohttp error."""
    if not is_http_url(url):
        raise _NotAVideo("not an http(s) URL")
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=url_timeout)) as response:
        if response.status >= 500 or response.status == 429:
            raise _Retryable(f"HTTP {response.status}")
        if response.status != 200:
            raise _NotAVideo(f"HTTP {response.status}")
        head = await _read_head(response.content)
        if not is_mp4(head):
            content_type = response.headers.get("Content-Type", "no content type")
            raise _NotAVideo(f"not an MP4 ({content_type}, starts with {head[:8]!r})")
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
            chunk = head
            chunks = response.content.iter_chunked(_CHUNK_BYTES)
            while chunk:
                size += len(chunk)
                if size > max_bytes:
                    log.info("Video at %s passed the %s byte limit; stopped", _for_log(url), max_bytes)
                    return TooLarge(url=url, size_hint=declared if declared is not None else size)
                await asyncio.to_thread(handle.write, chunk)
                chunk = await anext(chunks, b"")
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, partial, final)
            complete = True
        finally:
            if not complete:
                # Plain blocking calls: they must run even while the task is being cancelled.
                _discard(handle, partial)
    log.debug("Downloaded %s bytes from %s to %s", size, _for_log(url), final)
    return DownloadedVideo(path=final, size=size, url=url)


async def _read_head(content: aiohttp.StreamReader) -> bytes:
    """Read at least the first few bytes (fewer only at end of body), for the format check."""
    head = b""
    while len(head) < _HEAD_BYTES:
        chunk = await content.read(_CHUNK_BYTES)
        if not chunk:
            break
        head += chunk
    return head


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
