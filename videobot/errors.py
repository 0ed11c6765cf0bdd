"""The one base of every expected refusal: its text is the message the member reads.

Each domain area raises its own subclass (a bad option, a bad file, not enough credits, a campaign
rule, a setting out of range); the Discord side turns any of them into a private reply in one place,
so no command needs its own ``try/except`` and no refusal can be forgotten.
"""

from __future__ import annotations

import os
import traceback

import sqlalchemy.exc


class Refused(Exception):
    """An expected refusal; ``str()`` is the complete message for the member, and nothing was changed."""


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database could not be reached or answered (not a bug in the bot).

    The transaction it happened in was rolled back, so the member may simply try again. A plain
    ``OSError`` or ``TimeoutError`` counts only when it came out of the database driver: the same
    types from a Discord or ModelsLab call mean something else.
    """
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(
        error,
        sqlalchemy.exc.OperationalError
        | sqlalchemy.exc.InterfaceError
        | sqlalchemy.exc.DisconnectionError
        | sqlalchemy.exc.TimeoutError,
    ):
        return True
    if isinstance(error, OSError | TimeoutError):
        frames = traceback.extract_tb(error.__traceback__)
        return any(part in frame.filename for frame in frames for part in _DRIVER_PATHS)
    return False


_DRIVER_PATHS = (f"{os.sep}sqlalchemy{os.sep}", f"{os.sep}asyncpg{os.sep}", f"{os.sep}aiosqlite{os.sep}")
