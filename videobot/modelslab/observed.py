"""The ModelsLab client, watched: every call's outcome is reported to observers (metrics, owner alerts).

A subclass rather than a change to `ModelsLabClient`: the client stays a pure protocol adapter, and
whoever calls it (the job runner, the wallet watch) needs no code of its own to be counted. Observers
are told after the client has judged the answer, so they see the same typed error the caller sees.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable, Mapping
from typing import Protocol, TypeVar

import aiohttp

from videobot.modelslab.client import DEFAULT_BASE_URL, HostedFile, ModelsLabClient
from videobot.modelslab.envelope import ProviderJob
from videobot.modelslab.errors import ModelsLabError

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class ModelsLabObserver(Protocol):
    """Told about every ModelsLab call (``call``: submit, fetch, host_file or wallet_balance)."""

    def modelslab_answered(self, call: str) -> None:
        """The call succeeded."""

    def modelslab_failed(self, call: str, error: ModelsLabError) -> None:
        """The call raised ``error`` (already typed and scrubbed of the key)."""


class ObservedModelsLab(ModelsLabClient):
    """A `ModelsLabClient` that tells its observers how each call ended."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout: float = 60.0,
        observers: Iterable[ModelsLabObserver] = (),
    ) -> None:
        super().__init__(session, api_key=api_key, base_url=base_url, request_timeout=request_timeout)
        self._observers = list(observers)

    def observe(self, observer: ModelsLabObserver) -> None:
        """Add an observer for every call from now on."""
        self._observers.append(observer)

    async def submit(self, endpoint: str, payload: Mapping[str, object]) -> ProviderJob:
        """`ModelsLabClient.submit`, observed."""
        return await self._watched("submit", super().submit(endpoint, payload))

    async def fetch(self, provider_job_id: str) -> ProviderJob:
        """`ModelsLabClient.fetch`, observed."""
        return await self._watched("fetch", super().fetch(provider_job_id))

    async def host_file(self, data: bytes, mime: str) -> HostedFile:
        """`ModelsLabClient.host_file`, observed."""
        return await self._watched("host_file", super().host_file(data, mime))

    async def wallet_balance(self) -> float:
        """`ModelsLabClient.wallet_balance`, observed."""
        return await self._watched("wallet_balance", super().wallet_balance())

    async def _watched(self, call: str, request: Awaitable[_T]) -> _T:
        try:
            result = await request
        except ModelsLabError as error:
            for observer in self._observers:
                # An observer's bug must never change what the caller sees.
                try:
                    observer.modelslab_failed(call, error)
                except Exception:
                    log.exception("a ModelsLab observer failed")
            raise
        for observer in self._observers:
            try:
                observer.modelslab_answered(call)
            except Exception:
                log.exception("a ModelsLab observer failed")
        return result
