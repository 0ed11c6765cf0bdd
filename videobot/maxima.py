"""The largest value every number a member or moderator types may take, in one place.

Each is enforced in the domain (with a refusal that names it) and, where Discord can, in the command
definition too, so nothing out of range reaches the database: no overflow, no "integer out of range".
"""

from __future__ import annotations

from typing import Final

#: Any one amount of credits: a grant, revoke or set, a price, a starting balance, an allowance, a
#: daily cap, a campaign's credits per member or budget.
MAX_CREDITS: Final = 1_000_000_000
#: A balance that grants, allowances and campaign credits may reach (refunds may pass it: they only
#: give back what was taken).
MAX_BALANCE: Final = 1_000_000_000_000
#: Videos in progress one member may have at once, as a server sets it.
MAX_MEMBER_JOBS: Final = 100
#: Entries one member may make in a campaign.
MAX_CAMPAIGN_ENTRIES: Final = 1000
#: How far ahead a campaign may start or end.
MAX_CAMPAIGN_DAYS: Final = 366
#: The largest job number (jobs are numbered in a 32-bit column).
MAX_JOB_ID: Final = 2**31 - 1
#: Days a usage report may cover.
MAX_USAGE_DAYS: Final = 90
#: Characters in a moderator's reason.
MAX_REASON: Final = 200
