"""The provider chain: each signing call goes to the first healthy provider in `TTSIGN_PROVIDERS` order.

(Skeleton: native only, plain fallback in order. Breakers, verification, shadow comparison and the
stale-if-error cache are being added.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ttsign.providers.base import ChainEvents, NullEvents, Provider, ProviderAnswer, ProviderError, SignJob


class AllProvidersFailed(Exception):
    """Every provider failed (and no fresh cached answer): `failures` is [(name, kind, message)]."""

    def __init__(self, failures: Sequence[tuple[str, str, str]]) -> None:
        self.failures = tuple(failures)
        detail = "; ".join(f"{name}: {kind} ({message})" for name, kind, message in self.failures)
        super().__init__(f"no provider could sign: {detail}")


class UnknownProvider(ValueError):
    """A forced provider name that is not configured."""


class ProviderChain:
    def __init__(self, providers: Sequence[Provider], *, events: ChainEvents | None = None) -> None:
        if not providers:
            raise ValueError("a provider chain needs at least one provider")
        self.events: ChainEvents = events if events is not None else NullEvents()
        self.providers = list(providers)
        self.by_name = {p.name: p for p in self.providers}

    async def start(self) -> None:
        for provider in self.providers:
            await provider.start()

    async def close(self) -> None:
        for provider in self.providers:
            await provider.close()

    async def sign(self, job: SignJob) -> ProviderAnswer:
        order = self.providers
        if job.provider is not None:
            if job.provider not in self.by_name:
                raise UnknownProvider(
                    f"provider {job.provider!r} is not configured; configured: {', '.join(self.by_name)}"
                )
            order = [self.by_name[job.provider]]
        failures: list[tuple[str, str, str]] = []
        for provider in order:
            try:
                result = await provider.sign(job)
            except ProviderError as err:
                failures.append((provider.name, err.kind, err.message))
                continue
            return ProviderAnswer(result, provider.name, failures=tuple(failures))
        raise AllProvidersFailed(failures)

    def describe(self) -> list[dict[str, Any]]:
        return [{"name": p.name, **p.info()} for p in self.providers]
