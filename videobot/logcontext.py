"""The job and server a log line is about, carried by context variables.

asyncio copies the context into every task it creates, so a value bound at the start of a task (one
job's run, one interaction's handling) is seen by every log call in that task and in the tasks it
starts, and by no other task. The log formatter (``bot.py``) reads these; a call may also pass
``extra={"job_id": ..., "guild_id": ...}``, which wins.
"""

from __future__ import annotations

from contextvars import ContextVar

job_id: ContextVar[int | None] = ContextVar("job_id", default=None)
guild_id: ContextVar[int | None] = ContextVar("guild_id", default=None)


def bind(*, job: int | None = None, guild: int | None = None) -> None:
    """Say, for the rest of the current task, which job and server its log lines are about.

    Only the values given are changed. Call it first thing in a task of its own: the binding then
    ends with the task and never leaks into another one.
    """
    if job is not None:
        job_id.set(job)
    if guild is not None:
        guild_id.set(guild)
