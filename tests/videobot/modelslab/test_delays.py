"""The bounding policy for every wait the provider sends: absent or in [0, MAX_PROVIDER_DELAY]."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from videobot.modelslab.delays import (
    MAX_PROVIDER_DELAY,
    bound_delay,
    delay_from_rate_limit_reset,
    delay_from_retry_after_header,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_max_is_one_hour():
    assert MAX_PROVIDER_DELAY == 3600.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, 10.0),
        (12.5, 12.5),
        ("7", 7.0),
        (" 3.5 ", 3.5),
        (0, 0.0),
        ("0", 0.0),
        (-5, 0.0),
        ("-5", 0.0),
        (-1e300, 0.0),
        (3600, 3600.0),
        (3600.5, 3600.0),
        (1e12, 3600.0),
        ("1e12", 3600.0),
        (10**400, 3600.0),  # an integer too big for a float: finite, just absurd
        (-(10**400), 0.0),
    ],
)
def test_numbers_are_clamped(value, expected):
    assert bound_delay(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        "soon",
        "",
        "  ",
        math.inf,
        -math.inf,
        math.nan,
        "inf",
        "-inf",
        "nan",
        "NaN",
        [5],
        {},
    ],
)
def test_non_numbers_and_non_finite_values_are_absent(value):
    assert bound_delay(value) is None


@pytest.mark.parametrize(
    "value", [10, -5, 0, 1e12, 10**400, "inf", math.nan, "soon", 3600.0000001, 2**63, 1e308]
)
def test_every_result_fits_timedelta_and_sleep(value):
    bounded = bound_delay(value)
    if bounded is not None:
        assert 0 <= bounded <= MAX_PROVIDER_DELAY
        timedelta(seconds=bounded)  # what crashed before: timedelta(seconds=inf)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("30", 30.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1e12", 3600.0),
        ("inf", None),
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("Sun, 01 Jun 2025 12:00:45 GMT", 45.0),  # the HTTP-date form of RFC 9110
        ("Sun, 01 Jun 2025 11:00:00 GMT", 0.0),  # already past
        ("Sun, 01 Jun 2125 11:00:00 GMT", 3600.0),
        ("Mon, 99 Foo 2025 99:99:99 GMT", None),
    ],
)
def test_retry_after_header(header, expected):
    assert delay_from_retry_after_header(header, now=NOW) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (str(int(NOW.timestamp()) + 20), 20.0),  # a Unix time, as Laravel and the official CLI read it
        (str(NOW.timestamp() + 0.5), 0.5),
        (str(int(NOW.timestamp()) - 20), None),  # a reset already past says nothing: absent
        (str(int(NOW.timestamp()) + 86400), 3600.0),
        ("45", 45.0),  # small values are seconds from now
        ("0", 0.0),
        ("-5", 0.0),
        ("1e12", 3600.0),  # a Unix time 30 000 years away
        ("inf", None),
        ("nan", None),
        ("soon", None),
        (None, None),
    ],
)
def test_rate_limit_reset_header(header, expected):
    assert delay_from_rate_limit_reset(header, now=NOW) == expected
