"""The database tables. Change one, then add an Alembic migration (see README, "Migrations").

Discord ids are snowflakes stored as BIGINT; credits are integers; timestamps are aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlmodel import Field, SQLModel

from storage.states import AllowanceMode, EntryKind, JobState, ModerationActionKind, ReportStatus
from storage.types import TextEnum, UTCDateTime, utcnow


def _big(*, index: bool = False, nullable: bool = False) -> Any:
    return Field(sa_type=BigInteger, index=index, nullable=nullable)


def _credits(*, optional: bool = False, zero: bool = False) -> Any:
    # Credits are BIGINT: sums and balances past 2^31 must not fail (a failed refund would strand a job).
    if optional:
        return Field(default=None, sa_type=BigInteger, nullable=True)
    if zero:
        return Field(default=0, sa_type=BigInteger, nullable=False)
    return Field(sa_type=BigInteger, nullable=False)


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


OWN_WALLET = 0


class Account(SQLModel, table=True):
    """A member's credits in one server: their own (``wallet`` 0) or a campaign's (``wallet`` = its id).

    Only `storage.ledger.move_credits` changes ``balance``.
    """

    __table_args__ = (
        UniqueConstraint("guild_id", "user_id", "wallet", name="uq_account_member_wallet"),
        CheckConstraint("balance >= 0", name="ck_account_balance_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = _big()
    user_id: int = _big()
    wallet: int = Field(default=OWN_WALLET, sa_column_kwargs={"server_default": "0"})
    balance: int = _credits(zero=True)
    # The UTC day the daily allowance was last applied (None: never).
    allowance_date: date | None = Field(default=None, sa_type=Date, nullable=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class ServerRulesRow(SQLModel, table=True):
    """A server's own rules for credits and videos (see `videobot.rulebook`); no row: every default."""

    __tablename__ = "guild_settings"

    guild_id: int = Field(sa_type=BigInteger, primary_key=True)
    # None: the bot-wide STARTING_BALANCE.
    starting_balance: int | None = _credits(optional=True)
    # Daily allowance: off, floor (top up to amount) or add (add amount, up to allowance_cap).
    allowance_mode: AllowanceMode = Field(default=AllowanceMode.OFF, sa_type=TextEnum(AllowanceMode, 8))
    allowance_amount: int = _credits(zero=True)
    allowance_cap: int | None = _credits(optional=True)
    # {role id (text): extra daily credits}
    role_bonuses: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # {model id: price in credits for any duration and resolution}
    price_overrides: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    moderator_role_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    audit_channel_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    # Channel ids (text) where videos may be made; empty: everywhere.
    allowed_channel_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    max_jobs_per_member: int | None = Field(default=None, nullable=True)
    daily_credit_cap: int | None = _credits(optional=True)
    updated_at: datetime = _when()


class LedgerEntry(SQLModel, table=True):
    """One change of an account's balance; the balance is always the sum of its entries."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        # A job is debited once and refunded once per account, whatever retries or restarts happen
        # (a campaign entry may be paid from the campaign wallet and the member's own credits).
        UniqueConstraint("job_id", "kind", "account_id", name="uq_ledger_job_kind_account"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    amount: int = _credits()
    balance_after: int = _credits()
    kind: EntryKind = Field(sa_type=TextEnum(EntryKind, 32))
    job_id: int | None = Field(default=None, foreign_key="job.id", nullable=True)
    actor_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    reason: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_at: datetime = _when(index=True)


class Job(SQLModel, table=True):
    """A video job and everything needed to resume it after a restart.

    `state` moves queued → submitting → processing → delivering → delivered, or ends in failed,
    cancelled or timed_out (see `storage.states.JobState`).
    """

    __table_args__ = (
        Index("ix_job_state_id", "state", "id"),
        # Daily caps sum the jobs created since midnight.
        Index("ix_job_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: int = Field(sa_type=BigInteger, unique=True)
    guild_id: int = _big(index=True)
    channel_id: int = _big()
    user_id: int = _big(index=True)
    thread_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    status_channel_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    status_message_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    result_message_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    kind: str = Field(max_length=16)
    model_id: str = Field(max_length=64)
    prompt: str = Field(sa_type=Text)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cost: int = _credits()  # what the member paid, at this server's price
    # What the job costs the bot owner: the catalog's price, whatever the server charges.
    catalog_cost: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})
    upload_limit: int = Field(sa_type=BigInteger)
    state: JobState = Field(sa_type=TextEnum(JobState, 16))
    provider_id: str | None = Field(default=None, max_length=64, nullable=True)
    failure_reason: str | None = Field(default=None, sa_type=Text, nullable=True)
    result_urls: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    reroll_of: int | None = Field(default=None, nullable=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", nullable=True, index=True)
    gallery_message_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    submit_attempts: int = 0
    poll_count: int = 0
    not_before: datetime | None = _when(nullable=True)
    next_poll_at: datetime | None = _when(nullable=True)
    deadline_at: datetime | None = _when(nullable=True)
    lease_owner: str | None = Field(default=None, max_length=128, nullable=True)
    lease_expires_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    submitted_at: datetime | None = _when(nullable=True)
    # Set before the first attempt to post the result: a job resumed with it set may already have
    # been posted, so the chat is searched before posting again.
    delivery_started_at: datetime | None = _when(nullable=True)
    finished_at: datetime | None = _when(nullable=True)
    # The refund is done and the owner still has to be told why (kept across restarts).
    failure_note_pending: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    # Set when the owner or a moderator deleted the video: its messages are gone and its inputs purged.
    deleted_at: datetime | None = _when(nullable=True)
    deleted_by: int | None = Field(default=None, sa_type=BigInteger, nullable=True)


class StoredFile(SQLModel, table=True):
    """The bytes of a file a member gave a job (image or audio), stored once however many jobs use it.

    Kept in the database, not as a Discord URL: those are signed and expire, and a job can wait in
    the queue. At submit time the bytes are hosted through ModelsLab and the URL cached here. Deleted
    when no job can use it any more (see `storage.inputs`).
    """

    __tablename__ = "stored_file"

    sha256: str = Field(primary_key=True, max_length=64)
    mime: str = Field(max_length=64)
    size: int
    data: bytes = Field(sa_type=LargeBinary)
    hosted_url: str | None = Field(default=None, sa_type=Text, nullable=True)
    hosted_until: datetime | None = _when(nullable=True)
    created_at: datetime = _when()


class JobInput(SQLModel, table=True):
    """Which stored file a job uses in which role (``init_image``, ``init_audio``)."""

    __tablename__ = "job_input"
    __table_args__ = (UniqueConstraint("job_id", "role", name="uq_job_input_role"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    role: str = Field(max_length=16)
    filename: str = Field(max_length=256)
    sha256: str = Field(foreign_key="stored_file.sha256", max_length=64, index=True)


class Campaign(SQLModel, table=True):
    """A time-boxed server event with its own credits, rules, gallery and votes."""

    __table_args__ = (UniqueConstraint("guild_id", "name_key", name="uq_campaign_name"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = _big(index=True)
    name: str = Field(max_length=100)
    name_key: str = Field(max_length=100)  # the name folded to lower case: names are unique per server
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime, index=True)
    credits_per_member: int = _credits()
    allowed_models: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    prompt_prefix: str | None = Field(default=None, sa_type=Text, nullable=True)
    prompt_suffix: str | None = Field(default=None, sa_type=Text, nullable=True)
    gallery_channel_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    announce_channel_id: int = _big()
    budget: int | None = _credits(optional=True)
    max_entries_per_member: int | None = Field(default=None, nullable=True)
    created_by: int = _big()
    created_at: datetime = _when()
    # Set once when the campaign is closed: wallets voided and the summary posted.
    closed_at: datetime | None = _when(nullable=True)
    summary_message_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)


class Vote(SQLModel, table=True):
    """One member's vote for one campaign entry."""

    __table_args__ = (UniqueConstraint("job_id", "voter_id", name="uq_vote_once"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    voter_id: int = _big()
    created_at: datetime = _when()


class BlockedTerm(SQLModel, table=True):
    """A word or phrase a server does not allow in prompts, negative prompts or campaign themes."""

    __tablename__ = "blocked_term"
    __table_args__ = (UniqueConstraint("guild_id", "term_key", name="uq_blocked_term"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = _big()
    term: str = Field(sa_type=Text)  # as the moderator typed it (spacing collapsed), for display
    # The term normalised as prompts are before matching (`videobot.moderation.blocklist.normalise`).
    term_key: str = Field(sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_by: int = _big()
    created_at: datetime = _when()


class MemberBlock(SQLModel, table=True):
    """A member blocked from the bot in one server, until ``expires_at`` (None: until unblocked).

    One row per member; an expired row is simply not active any more (no scheduler removes it).
    """

    __tablename__ = "member_block"
    __table_args__ = (UniqueConstraint("guild_id", "user_id", name="uq_member_block"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = _big()
    user_id: int = _big()
    reason: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_by: int = _big()
    created_at: datetime = _when()
    expires_at: datetime | None = _when(nullable=True)


class VideoReport(SQLModel, table=True):
    """A member's report of a video, posted for moderators in the audit channel (once per member)."""

    __tablename__ = "video_report"
    __table_args__ = (UniqueConstraint("job_id", "reporter_id", name="uq_video_report_once"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = _big(index=True)
    job_id: int = Field(foreign_key="job.id")
    reporter_id: int = _big()
    status: ReportStatus = Field(default=ReportStatus.OPEN, sa_type=TextEnum(ReportStatus, 16))
    # Where the report was posted for moderators.
    audit_channel_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    audit_message_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    decided_by: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    decided_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()


class ModerationAction(SQLModel, table=True):
    """One moderator action (blocked terms, blocks, deletions, report decisions): the moderation log."""

    __tablename__ = "moderation_action"
    __table_args__ = (Index("ix_moderation_action_guild_id_id", "guild_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = _big()
    actor_id: int = _big()
    action: ModerationActionKind = Field(sa_type=TextEnum(ModerationActionKind, 24))
    # The target: a member, a video, or a term (whichever the action is about).
    target_user_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True, index=True)
    job_id: int | None = Field(default=None, foreign_key="job.id", nullable=True)
    term: str | None = Field(default=None, sa_type=Text, nullable=True)
    reason: str | None = Field(default=None, sa_type=Text, nullable=True)
    expires_at: datetime | None = _when(nullable=True)  # a block's end
    created_at: datetime = _when()


class RestBudget(SQLModel, table=True):
    """The Discord REST budget of one bot token, shared by every process (`storage.rest_budget`).

    ``key`` is a hash of the token, never the token. ``next_free_us`` is the next free send time
    (microseconds since the epoch): each reservation moves it on by one interval per request.
    """

    __tablename__ = "rest_budget"

    key: str = Field(sa_type=Text, primary_key=True)
    next_free_us: int = _big()
