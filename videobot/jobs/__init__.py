"""Video jobs: accepting and charging them, running them at ModelsLab, and delivering them.

- `book`: the job book (accept = charge + queue in one transaction, list, cancel, re-roll requests);
- `limits`: videos in progress per member and daily credit caps, checked where the debit happens;
- `refusals` and `requests`: why a job is refused, and what a job is made from;
- `runner`: the scheduler (claims queued jobs under a provider limit, holds leases, resumes orphans);
- `lifecycle`: one job's way through submit, polling, download and delivery, or its refund;
- `delivery`: the interface the chat side implements to show progress and post results.

`storage.tables.Job` is the job record every layer reads; `JobState` says where it is.
"""

from storage.states import FINAL_STATES, REFUNDED_STATES, JobState
from storage.tables import Job
from videobot.jobs.book import Jobs, refund
from videobot.jobs.refusals import (
    CapReached,
    ChannelNotAllowed,
    CooldownActive,
    DuplicateRequest,
    JobError,
    NotEnoughCredits,
)
from videobot.jobs.requests import CreatedJob, InputFile, JobRequest

__all__ = [
    "FINAL_STATES",
    "REFUNDED_STATES",
    "CapReached",
    "ChannelNotAllowed",
    "CooldownActive",
    "CreatedJob",
    "DuplicateRequest",
    "InputFile",
    "Job",
    "JobError",
    "JobRequest",
    "JobState",
    "Jobs",
    "NotEnoughCredits",
    "refund",
]
