"""Telling the bot owner when the ModelsLab account needs attention, once, and once when it recovered.

Three problems are watched: the wallet below ``WALLET_ALERT_USD`` (read every ``WALLET_CHECK_SECONDS``),
ModelsLab refusing the key (HTTP 401) and ModelsLab refusing a job for lack of funds (HTTP 402). The
last two are seen on any call through the client's observers (`videobot.modelslab.ModelsLabObserver`), or
by whoever catches them (`ProviderAlerts.provider_refused`). Each problem is announced when it starts
and when it ends, in ``OWNER_ALERT_CHANNEL_ID``, or failing that in every server's audit channel
(without the amounts, which are the owner's business), and always in the log.

The state is kept in memory only: a restarted bot that still finds a problem announces it once more.
That is deliberate: nothing is stored, and a restart is a good moment to be reminded.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from storage import stats
from storage.engine import SessionFactory
from storage.types import utcnow
from videobot.metrics import Metrics
from videobot.modelslab import InsufficientFunds, InvalidKey, ModelsLabClient, ModelsLabError

log = logging.getLogger(__name__)

# A top-up is told apart from rounding noise in the balance by at least a cent.
_TOP_UP = 0.01


class ProviderProblem(enum.StrEnum):
    """Something about the ModelsLab account that stops or will soon stop every video."""

    LOW_FUNDS = "low_funds"  # wallet below WALLET_ALERT_USD
    NO_FUNDS = "no_funds"  # a job refused for lack of funds (HTTP 402)
    INVALID_KEY = "invalid_key"  # the key refused (HTTP 401)


@dataclass(frozen=True)
class WalletReading:
    """The last look at the ModelsLab wallet: the balance (USD), or why it could not be read."""

    balance: float | None
    checked_at: datetime | None
    error: str | None = None


class AlertSink(Protocol):
    """Where alerts are posted: the chat side implements it."""

    async def post_alert(self, channel_id: int, text: str) -> None:
        """Post ``text`` in the channel; raise on failure (the caller logs it and goes on)."""


class ProviderAlerts:
    """Watches the ModelsLab account and announces each problem once when it starts and once when it ends.

    Also a `videobot.modelslab.ModelsLabObserver`: register it with the client and
    401/402 answers from any call are noticed without anyone reporting them.
    """

    def __init__(
        self,
        modelslab: ModelsLabClient,
        sink: AlertSink,
        *,
        sessions: SessionFactory,
        owner_channel_id: int | None = None,
        threshold_usd: float | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._modelslab = modelslab
        self._sink = sink
        self._sessions = sessions
        self._owner_channel_id = owner_channel_id
        self.threshold_usd = threshold_usd
        self._metrics = metrics
        self._clock = clock
        self._problems: dict[ProviderProblem, datetime] = {}
        self._balance_at_refusal: float | None = None
        self.last_reading = WalletReading(balance=None, checked_at=None)
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[frozenset[ProviderProblem]], None]] = []
        self._pending_reads: set[asyncio.Task[None]] = set()

    @property
    def problems(self) -> dict[ProviderProblem, datetime]:
        """The problems going on now, with when each started."""
        return dict(self._problems)

    def on_change(self, listener: Callable[[frozenset[ProviderProblem]], None]) -> None:
        """Call ``listener`` with the set of problems whenever it changes (e.g. to pause submitting)."""
        self._listeners.append(listener)

    # -- what is reported -------------------------------------------------------------------------

    def provider_refused(self, error: ModelsLabError) -> None:
        """ModelsLab refused the key (`InvalidKey`) or a job for funds (`InsufficientFunds`); other errors
        are ignored. Safe to call for every such error: only the first one of a spell is announced."""
        if isinstance(error, InvalidKey):
            self._raise(ProviderProblem.INVALID_KEY)
        elif isinstance(error, InsufficientFunds) and self._raise(ProviderProblem.NO_FUNDS):
            # The next reading (taken now) is the balance a top-up is recognised against.
            self._balance_at_refusal = None
            self._spawn_wallet_read()

    def modelslab_answered(self, call: str) -> None:
        """A call went through: the key works, and an accepted submit means there are funds."""
        self._clear(ProviderProblem.INVALID_KEY)
        if call == "submit":
            self._clear(ProviderProblem.NO_FUNDS)

    def modelslab_failed(self, call: str, error: ModelsLabError) -> None:
        """A call failed: note it when it says something about the account."""
        self.provider_refused(error)

    async def check_wallet(self) -> WalletReading:
        """Read the wallet now, update the low-funds state, and return the reading."""
        now = self._clock()
        try:
            balance = await self._modelslab.wallet_balance()
        except ModelsLabError as exc:
            self.provider_refused(exc)
            log.warning("could not read the ModelsLab wallet: %s", exc)
            self.last_reading = WalletReading(
                balance=self.last_reading.balance, checked_at=now, error=exc.user_message
            )
            return self.last_reading
        self.last_reading = WalletReading(balance=balance, checked_at=now)
        if self._metrics is not None:
            self._metrics.wallet_read(balance)
        if self.threshold_usd is not None:
            if balance < self.threshold_usd:
                self._raise(ProviderProblem.LOW_FUNDS)
            else:
                self._clear(ProviderProblem.LOW_FUNDS)
        if ProviderProblem.NO_FUNDS in self._problems:
            before = self._balance_at_refusal
            if before is None:
                self._balance_at_refusal = balance
            else:
                topped_up = balance >= before + _TOP_UP
                above_alert = self.threshold_usd is not None and balance >= self.threshold_usd
                if topped_up or above_alert:
                    self._clear(ProviderProblem.NO_FUNDS)
        return self.last_reading

    async def watch(self, *, interval: float) -> None:
        """Check the wallet every ``interval`` seconds, forever (cancel to stop)."""
        while True:
            try:
                await self.check_wallet()
            except Exception:
                log.exception("the wallet check failed; trying again later")
            await asyncio.sleep(interval)

    async def close(self, *, grace_seconds: float = 5.0) -> None:
        """Post what is still waiting (for at most ``grace_seconds``), then stop."""
        for read in list(self._pending_reads):
            read.cancel()
        await asyncio.gather(*self._pending_reads, return_exceptions=True)
        if self._sender is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), grace_seconds)
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender
        self._sender = None

    # -- state ------------------------------------------------------------------------------------

    def _raise(self, problem: ProviderProblem) -> bool:
        if problem in self._problems:
            return False
        self._problems[problem] = self._clock()
        self._changed(problem, started=True)
        return True

    def _clear(self, problem: ProviderProblem) -> None:
        if self._problems.pop(problem, None) is None:
            return
        if problem is ProviderProblem.NO_FUNDS:
            self._balance_at_refusal = None
        self._changed(problem, started=False)

    def _changed(self, problem: ProviderProblem, *, started: bool) -> None:
        owner_text, server_text = self._texts(problem, started=started)
        log.log(logging.WARNING if started else logging.INFO, "owner alert: %s", owner_text)
        self._outbox.put_nowait((owner_text, server_text))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_forever(), name="owner-alerts")
        current = frozenset(self._problems)
        for listener in self._listeners:
            try:
                listener(current)
            except Exception:
                log.exception("an alert listener failed")

    def _texts(self, problem: ProviderProblem, *, started: bool) -> tuple[str, str]:
        """The owner's message (with amounts) and the servers' (without)."""
        balance = self.last_reading.balance
        money = f" (${balance:.2f})" if balance is not None else ""
        threshold = f"${self.threshold_usd:.2f}" if self.threshold_usd is not None else ""
        if problem is ProviderProblem.LOW_FUNDS:
            if started:
                return (
                    f"⚠️ The ModelsLab wallet is low{money}, below WALLET_ALERT_USD ({threshold}). "
                    "Top it up before videos start failing.",
                    "⚠️ The video service's account is running low on funds; videos may soon fail. "
                    "The bot owner has been told.",
                )
            return (
                f"✅ The ModelsLab wallet is back above {threshold}{money}.",
                "✅ The video service's account has funds again.",
            )
        if problem is ProviderProblem.NO_FUNDS:
            if started:
                return (
                    f"⛔ ModelsLab refused a job for lack of funds (HTTP 402){money}. Videos fail (and are "
                    "refunded) until the wallet is topped up.",
                    "⛔ The video service's account is out of funds: new videos fail and are refunded "
                    "until the bot owner tops it up.",
                )
            return (
                f"✅ ModelsLab has funds again{money}.",
                "✅ The video service's account has funds again; videos work.",
            )
        if started:
            return (
                "⛔ ModelsLab refused the API key (HTTP 401): check MODELSLAB_API_KEY. No video can be made "
                "until it is fixed.",
                "⛔ The video service refused the bot's key: no video can be made until the bot owner "
                "fixes it.",
            )
        return (
            "✅ ModelsLab accepts the API key again.",
            "✅ The video service accepts the bot's key again; videos work.",
        )

    async def _send_forever(self) -> None:
        while True:
            owner_text, server_text = await self._outbox.get()
            try:
                await self._post(owner_text, server_text)
            except Exception:
                log.exception("could not post an owner alert")
            finally:
                self._outbox.task_done()

    async def _post(self, owner_text: str, server_text: str) -> None:
        if self._owner_channel_id is not None:
            targets = [(self._owner_channel_id, owner_text)]
        else:
            try:
                async with self._sessions() as session:
                    channels = await stats.audit_channel_ids(session)
            except (SQLAlchemyError, OSError) as exc:
                log.warning("owner alert not posted: the database did not answer (%s)", exc)
                return
            targets = [(channel, server_text) for channel in channels]
        for channel_id, text in targets:
            try:
                await self._sink.post_alert(channel_id, text)
            except Exception as exc:
                log.warning("could not post an owner alert in channel %s: %s", channel_id, exc)

    def _spawn_wallet_read(self) -> None:
        async def read() -> None:
            with contextlib.suppress(Exception):
                await self.check_wallet()

        task = asyncio.get_running_loop().create_task(read(), name="wallet-after-402")
        # Keep a reference until done: a task nobody holds may be collected mid-flight.
        self._pending_reads.add(task)
        task.add_done_callback(self._pending_reads.discard)
