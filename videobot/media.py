"""Recognising the files members upload and the videos ModelsLab returns, by their bytes.

Discord's ``content_type`` and file names are hints a client sets; they can be missing or wrong.
What we accept is decided by the first bytes of the file alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from videobot.errors import Refused


class MediaKind(enum.Enum):
    """A file format the bot knows, with the MIME type it is sent under."""

    PNG = "image/png"
    JPEG = "image/jpeg"
    WEBP = "image/webp"
    MP3 = "audio/mpeg"
    WAV = "audio/wav"
    MP4 = "video/mp4"

    @property
    def mime(self) -> str:
        """The MIME type, as used in data URLs and uploads."""
        return self.value

    @property
    def extension(self) -> str:
        """The usual file name extension, without the dot."""
        return _EXTENSIONS[self]


_EXTENSIONS = {
    MediaKind.PNG: "png",
    MediaKind.JPEG: "jpg",
    MediaKind.WEBP: "webp",
    MediaKind.MP3: "mp3",
    MediaKind.WAV: "wav",
    MediaKind.MP4: "mp4",
}

IMAGE_KINDS = frozenset({MediaKind.PNG, MediaKind.JPEG, MediaKind.WEBP})
AUDIO_KINDS = frozenset({MediaKind.MP3, MediaKind.WAV})

# How many leading bytes `sniff` needs to decide.
SNIFF_BYTES = 16


def sniff(head: bytes) -> MediaKind | None:
    """Return the format the leading bytes of a file show, or None when it is none we accept."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaKind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return MediaKind.JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaKind.WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return MediaKind.WAV
    if head.startswith(b"ID3") or _is_mpeg_audio_frame(head):
        return MediaKind.MP3
    if is_mp4(head):
        return MediaKind.MP4
    return None


def is_mp4(head: bytes) -> bool:
    """True when the bytes start with an ISO base media ``ftyp`` box (MP4, MOV and kin)."""
    return len(head) >= 8 and head[4:8] == b"ftyp"


def _is_mpeg_audio_frame(head: bytes) -> bool:
    # An MP3 without an ID3 tag starts with a frame header: 11 sync bits set, then a valid
    # version (not the reserved 01) and layer III (01).
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    return version != 0b01 and layer == 0b01


@dataclass(frozen=True)
class MediaRule:
    """What one attachment slot accepts: formats and a size limit."""

    label: str
    kinds: frozenset[MediaKind]
    max_bytes: int

    def describe_kinds(self) -> str:
        """The accepted formats in words, e.g. ``PNG, JPEG or WebP``."""
        names = [_DISPLAY_NAMES[k] for k in sorted(self.kinds, key=lambda k: k.name)]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


_DISPLAY_NAMES = {
    MediaKind.PNG: "PNG",
    MediaKind.JPEG: "JPEG",
    MediaKind.WEBP: "WebP",
    MediaKind.MP3: "MP3",
    MediaKind.WAV: "WAV",
    MediaKind.MP4: "MP4",
}

# ModelsLab hosts our inputs through /v6/base64_to_url, which takes files up to 5 MB.
PROVIDER_UPLOAD_LIMIT = 5 * 1000 * 1000

IMAGE_RULE = MediaRule("image", IMAGE_KINDS, PROVIDER_UPLOAD_LIMIT)
AUDIO_RULE = MediaRule("audio", AUDIO_KINDS, PROVIDER_UPLOAD_LIMIT)


class RejectedFile(Refused):
    """An attachment the bot will not use; ``str()`` is the message for the member."""


def check_declared_size(rule: MediaRule, filename: str, size: int) -> None:
    """Refuse a file by its announced size before downloading it."""
    if size > rule.max_bytes:
        have, limit = _sizes(size, rule.max_bytes)
        raise RejectedFile(f"The {rule.label} `{filename}` is {have}; the limit is {limit}.")
    if size == 0:
        raise RejectedFile(f"The {rule.label} `{filename}` is empty.")


def check_file(rule: MediaRule, filename: str, data: bytes) -> MediaKind:
    """Return the file's format when the rule accepts it, else raise `RejectedFile` saying why."""
    check_declared_size(rule, filename, len(data))
    kind = sniff(data[:SNIFF_BYTES])
    if kind not in rule.kinds:
        found = f"a {_DISPLAY_NAMES[kind]} file" if kind else "not a file type the bot can read"
        raise RejectedFile(
            f"The {rule.label} `{filename}` is {found}; attach {rule.describe_kinds()} instead."
        )
    return kind


def _sizes(size: int, limit: int) -> tuple[str, str]:
    # "5.0 MB; the limit is 5.0 MB" would not say what is wrong: then count bytes.
    have, most = f"{size / 1_000_000:.1f} MB", f"{limit / 1_000_000:.1f} MB"
    return (have, most) if have != most else (f"{size:,} bytes", f"{limit:,} bytes")
