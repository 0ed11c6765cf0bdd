"""Reading the waits ModelsLab asks for, with a policy that survives absurd values.

The provider tells us how long to wait in four places: ``eta`` on a processing job, ``retry_after``
in a queue-full body, and the ``Retry-After`` and ``X-RateLimit-Reset`` headers. Any of them may be
missing, text ("soon"), ``Infinity``/``NaN`` (Python's JSON reader accepts both), negative, or huge.
Feeding such a value to ``timedelta`` or ``asyncio.sleep`` crashes or hangs the runner, so every
wait the client hands out goes through `bound_delay`:

* a value that is not a number (text that does not parse, a list, a bool, None) is absent (None);
* a number that is not finite (inf, nan) is absent;
* any other number is clamped to ``[0, MAX_PROVIDER_DELAY]``.

So a wait the client returns is either None or a finite float between 0 and one hour. The caller
still clamps it to its own bounds (the runner: at least its minimum poll interval).
"""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

__all__ = [
    "MAX_PROVIDER_DELAY",
    "bound_delay",
    "delay_from_rate_limit_reset",
    "delay_from_retry_after_header",
]

# The longest wait the client ever reports, in seconds. Longer than any real ETA or queue wait the
# provider documents (30 s for a full queue; minutes for a video), short enough that a typo or a
# broken proxy cannot park a job for a day.
MAX_PROVIDER_DELAY: Final = 3600.0

# X-RateLimit-Reset is an absolute Unix time in Laravel and in the official CLI; small values are
# taken as seconds from now, as other APIs send them. 10^9 s is September 2001: no real delta is
# that long, and no real reset time is earlier.
_EPOCH_THRESHOLD: Final = 1e9


def _as_number(value: object) -> float | None:
    """A JSON number or numeric text as a float; None for anything else (bool is not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # a 400-digit integer: finite, just absurd, so clamped like one
            return sys.float_info.max if value > 0 else -sys.float_info.max
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def bound_delay(value: object) -> float | None:
    """A provider wait in seconds under the module's policy: None or a float in [0, MAX]."""
    number = _as_number(value)
    if number is None or math.isnan(number):
        return None
    if math.isinf(number):
        # "Wait forever" and "wait minus forever" carry no usable information.
        return None
    return min(max(number, 0.0), MAX_PROVIDER_DELAY)


def delay_from_retry_after_header(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta seconds or an HTTP date (RFC 9110)."""
    if value is None or not value.strip():
        return None
    seconds = _as_number(value)
    if seconds is not None:
        return bound_delay(seconds)
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return bound_delay((when - current).total_seconds())


def delay_from_rate_limit_reset(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from an ``X-RateLimit-Reset`` header.

    A value of at least 10^9 is a Unix time, as Laravel and the official CLI treat it; a reset
    time already past says nothing about how long to wait, so it counts as absent (the CLI ignores
    it too). A smaller value is a number of seconds from now.
    """
    if value is None:
        return None
    number = _as_number(value)
    if number is None or not math.isfinite(number):
        return None
    if number >= _EPOCH_THRESHOLD:
        current = (now or datetime.now(UTC)).timestamp()
        remaining = number - current
        return bound_delay(remaining) if remaining > 0 else None
    return bound_delay(number)
