"""How often a member's refused prompts are told to the moderators: at most once a minute each.

Kept in memory, not in the database: a server's interactions all arrive at the one process that runs
its shard, so that process sees every refusal of its members; a restart forgets at most one minute
(one extra line), and a member retrying a refused prompt in a loop costs no database writes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime, timedelta

from storage.types import utcnow


class AuditThrottle:
    """Lets one audit line through per key (e.g. a server and a member) per ``every``."""

    def __init__(
        self, every: timedelta = timedelta(minutes=1), *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._every = every
        self._clock = clock
        self._last: dict[Hashable, datetime] = {}

    def allow(self, key: Hashable) -> bool:
        """Whether a line for ``key`` may be posted now (and if so, it counts as posted)."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._every:
            return False
        if len(self._last) > 10_000:
            # Forget keys that could not hold anything back any more, so memory stays bounded.
            self._last = {k: t for k, t in self._last.items() if now - t < self._every}
        self._last[key] = now
        return True
