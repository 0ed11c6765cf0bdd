"""Server event campaigns: a time window, a wallet of credits per participant (spent before their own
credits and void at the end), rules for entries, a gallery with votes, and a report.

- `service`: create, end, join, overview, votes;
- `entries`: whether a new job is an entry and how it is paid (called inside the job's transaction);
- `closing`: closing ended campaigns once, reports, the CSV, and the watcher that posts summaries;
- `timing`: reading typed times and where a campaign stands; `lookup`: finding one by name.
"""

from storage.tables import Campaign
from videobot.campaigns.closing import (
    CampaignActivity,
    CampaignCloser,
    CampaignDay,
    CampaignPresenter,
    CampaignReport,
    CampaignReports,
    RankedEntry,
)
from videobot.campaigns.entries import EntryPlan, counts_as_entry, plan_entry, untheme
from videobot.campaigns.refusals import CampaignError
from videobot.campaigns.service import (
    CampaignOverview,
    Campaigns,
    CampaignSpec,
    JoinResult,
    VoteResult,
)
from videobot.campaigns.timing import CampaignStatus, parse_when, status_of

__all__ = [
    "Campaign",
    "CampaignActivity",
    "CampaignCloser",
    "CampaignDay",
    "CampaignError",
    "CampaignOverview",
    "CampaignPresenter",
    "CampaignReport",
    "CampaignReports",
    "CampaignSpec",
    "CampaignStatus",
    "Campaigns",
    "EntryPlan",
    "JoinResult",
    "RankedEntry",
    "VoteResult",
    "counts_as_entry",
    "parse_when",
    "plan_entry",
    "status_of",
    "untheme",
]
