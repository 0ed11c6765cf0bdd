"""Files are judged by their bytes, with messages that say what was wrong."""

from __future__ import annotations

import pytest

from videobot.media import AUDIO_RULE, IMAGE_RULE, MediaKind, RejectedFile, check_file, sniff

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
