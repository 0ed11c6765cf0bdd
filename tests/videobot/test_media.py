"""Files are judged by their bytes, with messages that say what was wrong."""

from __future__ import annotations

import struct
import tracemalloc

import pytest

from tests.fakes.modelslab_server import make_heif, make_mp4, make_no_moov
from videobot.media import (
    AUDIO_RULE,
    IMAGE_RULE,
    MediaKind,
    Mp4Scanner,
    NotAVideo,
    RejectedFile,
    check_file,
    is_mp4,
    sniff,
)

SAMPLES = {
    MediaKind.PNG: b"\x89PNG\r\n\x1a\n" + bytes(20),
    MediaKind.JPEG: b"\xff\xd8\xff\xe0" + bytes(20),
    MediaKind.WEBP: b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(8),
    MediaKind.WAV: b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(8),
    MediaKind.MP3: b"ID3\x04" + bytes(20),
    MediaKind.MP4: b"\x00\x00\x00\x18ftypisom" + bytes(12),
}


@pytest.mark.parametrize(("kind", "data"), SAMPLES.items())
def test_each_format_is_recognised(kind: MediaKind, data: bytes) -> None:
    assert sniff(data) is kind


def test_mp3_without_id3_tag_is_recognised_by_its_frame_header() -> None:
    assert sniff(b"\xff\xfb\x90\x00" + bytes(12)) is MediaKind.MP3
    assert sniff(b"\xff\xe9\x00\x00" + bytes(12)) is None  # reserved MPEG version: not audio


@pytest.mark.parametrize("data", [b"hello world", b"<html>", b"%PDF-1.4", b""])
def test_other_bytes_are_unknown(data: bytes) -> None:
    assert sniff(data) is None


def test_a_png_named_mp3_is_refused_as_audio() -> None:
    with pytest.raises(RejectedFile, match=r"`beat.mp3` is a PNG file; attach MP3 or WAV instead"):
        check_file(AUDIO_RULE, "beat.mp3", SAMPLES[MediaKind.PNG])


def test_text_pretending_to_be_an_image_is_refused() -> None:
    with pytest.raises(RejectedFile, match="not a file type the bot can read; attach JPEG, PNG or WebP"):
        check_file(IMAGE_RULE, "cat.png", b"just text")


def test_size_limit_is_stated() -> None:
    with pytest.raises(RejectedFile, match=r"`big.png` is 6.0 MB; the limit is 5.0 MB\.$"):
        check_file(IMAGE_RULE, "big.png", SAMPLES[MediaKind.PNG] + bytes(6_000_000))


def test_a_file_just_over_the_limit_is_told_in_bytes() -> None:
    with pytest.raises(RejectedFile, match=r"is 5,000,028 bytes; the limit is 5,000,000 bytes\.$"):
        check_file(IMAGE_RULE, "big.png", SAMPLES[MediaKind.PNG] + bytes(5_000_000))


def test_accepted_image_returns_its_kind() -> None:
    assert check_file(IMAGE_RULE, "c.jpg", SAMPLES[MediaKind.JPEG]) is MediaKind.JPEG


# -- MP4 checks: brands, moov, box structure, streaming -----------------------------------------


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    return box(b"ftyp", major + bytes(4) + b"".join(compatible))


MOOV = box(b"moov", box(b"mvhd", bytes(100)))


def scan(data: bytes, step: int | None = None) -> Mp4Scanner:
    scanner = Mp4Scanner()
    step = step or max(1, len(data))
    for start in range(0, len(data), step):
        scanner.feed(data[start : start + step])
    scanner.finish()
    return scanner


@pytest.mark.parametrize("step", [1, 2, 3, 5, 8, 13, 64, None])
def test_a_real_shaped_mp4_passes_in_any_chunking(step: int | None) -> None:
    scanner = scan(make_mp4(3000), step)
    assert scanner.major_brand == "isom"
    assert scanner.compatible_brands == ("isom", "iso2", "avc1", "mp41")
    assert scanner.has_moov
    assert scanner.size == 3000


@pytest.mark.parametrize("step", [1, 7, None])
def test_moov_at_the_end_and_64_bit_sizes_pass(step: int | None) -> None:
    assert scan(make_mp4(5000, moov_at_end=True), step).has_moov
    assert scan(make_mp4(5000, large_mdat=True), step).has_moov
    assert scan(make_mp4(5000, moov_at_end=True, large_mdat=True), step).has_moov


def test_a_last_box_running_to_the_end_of_the_file() -> None:
    data = ftyp(b"mp42", b"isom") + MOOV + struct.pack(">I4s", 0, b"mdat") + bytes(1000)
    assert scan(data, 100).has_moov


def test_moov_inside_a_box_to_the_end_does_not_count() -> None:
    data = ftyp(b"mp42", b"isom") + struct.pack(">I4s", 0, b"mdat") + MOOV
    with pytest.raises(NotAVideo, match="no moov"):
        scan(data)


@pytest.mark.parametrize(
    "brands",
    [
        (b"qt  ", b"qt  "),
        (b"3gp5", b"3gp5", b"isom"),
        (b"3g2a",),
        (b"M4V ", b"M4V ", b"mp42"),
        (b"dash", b"iso6"),
        (b"XAVC", b"mp42", b"iso2"),  # an unknown major brand with video compatible brands
        (b"avc1",),
        (b"iso9",),
    ],
)
def test_video_brands_are_accepted(brands: tuple[bytes, ...]) -> None:
    assert scan(ftyp(*brands) + MOOV).has_moov


@pytest.mark.parametrize(
    ("brands", "named"),
    [
        ((b"heic", b"mif1", b"heic"), "heic"),
        ((b"heix", b"mif1", b"heix"), "heix"),
        ((b"mif1", b"mif1"), "mif1"),
        ((b"msf1", b"msf1", b"iso8"), "msf1"),
        ((b"avif", b"avif", b"mif1", b"miaf"), "avif"),
        ((b"avis", b"avis", b"msf1", b"iso8", b"mif1", b"miaf"), "avis"),  # animated AVIF lists iso8
        ((b"M4A ", b"M4A ", b"mp42", b"isom"), "M4A"),
        ((b"isom", b"isom", b"heic"), "heic"),  # an image brand anywhere is enough
    ],
)
def test_image_and_audio_brands_are_refused_at_once(brands: tuple[bytes, ...], named: str) -> None:
    scanner = Mp4Scanner()
    with pytest.raises(NotAVideo, match=rf"brand '{named}'"):
        scanner.feed(ftyp(*brands))  # no need to wait for the rest of the file
    assert not scanner.brands_checked


def test_the_fakes_heic_and_avif_are_refused() -> None:
    for brand in ("heic", "avif"):
        with pytest.raises(NotAVideo, match="image or audio"):
            scan(make_heif(brand))
        assert not is_mp4(make_heif(brand)[:16])
        assert sniff(make_heif(brand)[:16]) is None


def test_no_video_brand_is_refused() -> None:
    with pytest.raises(NotAVideo, match="no video brand"):
        scan(ftyp(b"abcd", b"wxyz") + MOOV)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html>" + bytes(40), "does not start with an ftyp"),
        (box(b"free", bytes(8)) + ftyp(b"isom", b"isom") + MOOV, "does not start with an ftyp"),
        (ftyp(b"isom")[:10], "complete ftyp"),
        (struct.pack(">I4s", 9000, b"ftyp") + b"isom", "ftyp box of 9000 bytes"),
        (struct.pack(">I4s", 8, b"ftyp"), "ftyp box of 8 bytes"),
        (ftyp(b"isom", b"isom") + struct.pack(">I4s", 4, b"moov"), "box of 4 bytes"),
        (ftyp(b"isom", b"isom") + struct.pack(">I4sQ", 1, b"mdat", 8), "box of 8 bytes"),
        (ftyp(b"isom", b"isom") + b"\x00\x00\x00\x10\x01\x02\x03\x04" + bytes(8), "broken box structure"),
        (ftyp(b"isom", b"isom") + MOOV + box(b"mdat", bytes(100))[:50], "cut off"),
        (ftyp(b"isom", b"isom") + MOOV + b"\x00\x00\x00", "cut off"),
        (make_no_moov(), "no moov"),
    ],
)
def test_broken_files_are_refused(data: bytes, why: str) -> None:
    with pytest.raises(NotAVideo, match=why):
        scan(data, 3)


def test_is_mp4_keeps_recognising_a_plain_ftyp_head() -> None:
    assert is_mp4(b"\x00\x00\x00\x18ftyp")  # too short to show a brand: a first look only
    assert is_mp4(b"\x00\x00\x00\x18ftypmp42")
    assert not is_mp4(b"\x00\x00\x00\x18ftypheic")
    assert not is_mp4(b"\x00\x00\x00\x18ftypavif")


def test_forty_megabytes_stream_through_in_constant_memory() -> None:
    mdat_payload = 40 * 1024 * 1024
    header = ftyp(b"isom", b"isom", b"mp42") + MOOV + struct.pack(">I4s", 8 + mdat_payload, b"mdat")
    chunk = bytes(256 * 1024)
    scanner = Mp4Scanner()
    tracemalloc.start()
    try:
        scanner.feed(header)
        for _ in range(mdat_payload // len(chunk)):
            scanner.feed(chunk)
        scanner.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert scanner.size == len(header) + mdat_payload
    assert peak < 64 * 1024  # no copy of the chunks, let alone of the file
