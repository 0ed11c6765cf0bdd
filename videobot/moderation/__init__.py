"""Content safety for moderators: stop a word, a member or a video in seconds, and see what happened.

- `blocklist`: normalising text and finding a blocked term as a whole word or phrase (pure);
- `screening`: the blocked-terms check a new job passes where it would be charged;
- `blocks`: blocking members (how long, the check every member action makes, cancelling their
  waiting videos with a refund);
- `removal`: deleting a video (marked deleted, inputs purged); `reports`: members' reports and the
  moderators' decisions; `actions`: the moderation log; `audit`: how often refusals reach moderators;
- `service`: `Moderation`, the moderators' tools as the bot calls them; `refusals`: why things are refused.

Nothing here imports the job book or campaigns (they import this), so the checks can run inside
their transactions.
"""

from storage.states import ModerationActionKind, ReportStatus
from storage.tables import BlockedTerm, MemberBlock, ModerationAction, VideoReport
from videobot.moderation.actions import LOG_PAGE_SIZE, ActionLogPage
from videobot.moderation.audit import AuditThrottle
from videobot.moderation.blocklist import TERM_MAX, TERMS_MAX, find_term, normalise
from videobot.moderation.blocks import BlockResult, check_not_blocked, parse_duration
from videobot.moderation.refusals import MemberBlocked, ModerationError, TermNotAllowed
from videobot.moderation.removal import DeletedVideo
from videobot.moderation.reports import FiledReport, Reports
from videobot.moderation.screening import check_terms
from videobot.moderation.service import Moderation

__all__ = [
    "LOG_PAGE_SIZE",
    "TERMS_MAX",
    "TERM_MAX",
    "ActionLogPage",
    "AuditThrottle",
    "BlockResult",
    "BlockedTerm",
    "DeletedVideo",
    "FiledReport",
    "MemberBlock",
    "MemberBlocked",
    "Moderation",
    "ModerationAction",
    "ModerationActionKind",
    "ModerationError",
    "ReportStatus",
    "Reports",
    "TermNotAllowed",
    "VideoReport",
    "check_not_blocked",
    "check_terms",
    "find_term",
    "normalise",
    "parse_duration",
]
