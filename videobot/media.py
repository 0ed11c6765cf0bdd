"""Recognising the files members upload and the videos ModelsLab returns, by their bytes.

Discord's ``content_type`` and file names are hints a client sets; they can be missing or wrong.
What we accept is decided by the first bytes of the file alone.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

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
    """True when the bytes start with an ISO base media ``ftyp`` box whose major brand (when the
    head is long enough to show it) is not an image or audio brand.

    Only a first look: HEIC and AVIF images also start with ``ftyp``. A downloaded video is judged
    in full by `Mp4Scanner` (all brands, a ``moov`` box, complete boxes).
    """
    if len(head) < 8 or head[4:8] != b"ftyp":
        return False
    major = _brand(head[8:12]) if len(head) >= 12 else None
    return major is None or major not in NON_VIDEO_BRANDS


# ISO base media brands of files that hold a movie. "M4V " and "qt  " are padded with spaces to four
# characters, as they appear in the file.
VIDEO_BRANDS: Final = frozenset(
    {
        "isom",
        *(f"iso{n}" for n in range(2, 10)),
        "mp41",
        "mp42",
        "mp71",
        "avc1",
        "dash",
        "M4V ",
        "M4VH",
        "M4VP",
        "qt  ",
        "f4v ",
        "mmp4",
        "msnv",
        "cmfc",
        "cmfs",
        "cmf2",
        "XAVC",
    }
)
# Brand prefixes of 3GPP and 3GPP2 movies ("3gp4", "3gp5", "3g2a", "3gg6", ...).
_VIDEO_BRAND_PREFIXES: Final = ("3gp", "3g2", "3gg", "3ge", "3gs")
# Brands that mark a file as a still image (HEIF, HEIC, AVIF, image sequences) or audio only. A
# file showing one of them anywhere in its ftyp is refused, even when it also lists "iso8": animated
# AVIF does exactly that.
NON_VIDEO_BRANDS: Final = frozenset(
    {
        "heic",
        "heix",
        "heim",
        "heis",
        "hevc",
        "hevx",
        "hevm",
        "hevs",
        "mif1",
        "mif2",
        "msf1",
        "miaf",
        "avif",
        "avis",
        "avio",
        "MA1A",
        "MA1B",
        "MiHA",
        "MiHB",
        "MiHE",
        "jpeg",
        "jpgs",
        "avci",
        "M4A ",
        "M4B ",
        "M4P ",
    }
)

# The longest ftyp box we read: a handful of brands is normal; kilobytes of them is not an MP4.
_MAX_FTYP_BYTES: Final = 4096


class NotAVideo(ValueError):
    """The bytes are not a playable MP4 movie; ``str()`` says why, in a few words for the log."""


def _brand(raw: bytes) -> str | None:
    if len(raw) != 4:
        return None
    return raw.decode("latin-1")


def _is_video_brand(brand: str) -> bool:
    return brand in VIDEO_BRANDS or brand.startswith(_VIDEO_BRAND_PREFIXES)


def check_brands(major: str, compatible: tuple[str, ...]) -> None:
    """Raise `NotAVideo` unless the ``ftyp`` brands describe a movie.

    Refused: any image or audio brand (major or compatible); accepted: a video brand as the major
    brand or among the compatible ones.
    """
    brands = (major, *compatible)
    refused = [b for b in brands if b in NON_VIDEO_BRANDS]
    if refused:
        raise NotAVideo(f"an image or audio file, not a video (brand {refused[0].strip()!r})")
    if not any(_is_video_brand(b) for b in brands):
        listed = ", ".join(repr(b.strip()) for b in brands)
        raise NotAVideo(f"no video brand in its ftyp box ({listed})")


class Mp4Scanner:
    """Checks an MP4 as it streams past, without keeping it: feed the bytes in order, then finish.

    It walks the top-level boxes (``size``, ``type``, payload): the first must be ``ftyp`` with a
    video brand (checked as soon as the box is complete, so an image is refused after a few bytes),
    one of them must be ``moov`` (at the start for web-optimised files, at the end otherwise), and the
    last box must end exactly where the file ends. 64-bit box sizes (``size == 1``) and a last box
    "to the end of the file" (``size == 0``) are understood. Memory use is a few kilobytes at most,
    whatever the file size. `feed` and `finish` raise `NotAVideo`.
    """

    def __init__(self) -> None:
        self.size = 0  # bytes fed so far
        self.major_brand: str | None = None
        self.compatible_brands: tuple[str, ...] = ()
        self.has_moov = False
        self._pending = b""  # a box header (or the ftyp box) not yet complete
        self._skip = 0  # payload bytes of the current box still to pass over
        self._to_end = False  # inside a box that runs to the end of the file
        self._boxes = 0

    @property
    def brands_checked(self) -> bool:
        """True once the ``ftyp`` box has been read and its brands accepted."""
        return self.major_brand is not None

    def feed(self, data: bytes) -> None:
        """Take the next bytes of the file."""
        self.size += len(data)
        view = memoryview(data)
        while view:
            if self._to_end:
                return
            if self._skip:
                step = min(self._skip, len(view))
                self._skip -= step
                view = view[step:]
                continue
            view = self._read_header(view)

    def _read_header(self, view: memoryview) -> memoryview:
        """Collect one box header (the whole box for ``ftyp``); return the bytes left over."""
        while (needed := self._header_length()) > len(self._pending):
            if not view:
                return view
            take = needed - len(self._pending)
            self._pending += bytes(view[:take])
            view = view[take:]
        self._box_complete()
        return view

    def _header_length(self) -> int:
        """How many bytes the current header needs: 8, 16 with a 64-bit size, all of ``ftyp``."""
        if len(self._pending) < 8:
            return 8
        size, kind = struct.unpack(">I4s", self._pending[:8])
        if self._boxes == 0 and kind == b"ftyp":
            if not 16 <= size <= _MAX_FTYP_BYTES:
                raise NotAVideo(f"an ftyp box of {size} bytes")
            return int(size)
        return 16 if size == 1 else 8

    def _box_complete(self) -> None:
        header = self._pending
        self._pending = b""
        size, kind = struct.unpack(">I4s", header[:8])
        header_length = 8
        if size == 1:
            (size,) = struct.unpack(">Q", header[8:16])
            header_length = 16
        if not all(0x20 <= byte <= 0x7E or byte == 0xA9 for byte in kind):
            raise NotAVideo(f"broken box structure at byte {self.size}: type {bytes(kind)!r}")
        if self._boxes == 0:
            if kind != b"ftyp":
                raise NotAVideo("does not start with an ftyp box")
            payload = header[8:]
            brands = tuple(_brand(payload[i : i + 4]) or "" for i in range(8, len(payload) - 3, 4))
            major = _brand(payload[0:4]) or ""
            check_brands(major, brands)
            self.major_brand, self.compatible_brands = major, brands
            self._boxes = 1
            return
        self._boxes += 1
        if kind == b"moov":
            self.has_moov = True
        if size == 0:
            self._to_end = True
            return
        if size < header_length:
            raise NotAVideo(f"broken box structure: a {kind.decode('latin-1')!r} box of {size} bytes")
        self._skip = size - header_length

    def finish(self) -> None:
        """The file has ended: check that it held a whole movie."""
        if self.size == 0:
            raise NotAVideo("empty")
        if self._boxes == 0:
            raise NotAVideo("does not start with a complete ftyp box")
        if self._pending or self._skip:
            raise NotAVideo(f"cut off: the file ends inside a box after {self.size} bytes")
        if not self.has_moov:
            raise NotAVideo("no moov box: not a playable movie")


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
