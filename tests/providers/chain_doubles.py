"""Test doubles for the chain's tests: scripted providers, a recording ChainEvents, a settable clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ttsign.providers.base import FailureKind, ProviderError, SignJob
from ttsign.providers.faults import corrupt_result
from ttsign.signing.policy import PolicyError, parse_url
from ttsign.signing.service import SigningResult, SigningService
from ttsign.signing.signer import Signer, SignerOptions

API = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30&secUid=abc"
WEBCAST = "https://webcast.tiktok.com/webcast/im/fetch/?aid=1988&room_id=7451234567890123456"
ROOM = "https://www.tiktok.com/@someone/live"


def job(url: str = API, **kw: Any) -> SignJob:
    return SignJob(url, parse_url(url), **kw)


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Events:
    """Records every ChainEvents call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.breakers: list[tuple[str, str]] = []
        self.shadows: list[tuple[str, str, str, tuple[str, ...]]] = []
        self.caches: list[str] = []

    def call(self, provider: str, outcome: str, kind: str, seconds: float) -> None:
        assert seconds >= 0
        self.calls.append((provider, outcome, kind))

    def breaker(self, provider: str, state: str) -> None:
        self.breakers.append((provider, state))

    def shadow(self, provider: str, other: str, outcome: str, fields: tuple[str, ...]) -> None:
        self.shadows.append((provider, other, outcome, fields))

    def cache(self, outcome: str) -> None:
        self.caches.append(outcome)


class Scripted:
    """A provider named `name` that signs with its own Signer unless told to fail.

    `mode`: `ok`, a `FailureKind` (raises ProviderError of it), `hang` (sleeps `hang_s`), `raise` (a
    RuntimeError), `policy` (a PolicyError), `corrupt` (tokens that fail verification)."""

    def __init__(self, name: str, mode: str = "ok", *, options: SignerOptions | None = None, hang_s: float = 10.0):
        self.name = name
        self.mode = mode
        self.hang_s = hang_s
        self.service = SigningService(Signer(options or SignerOptions()))
        self.calls = 0
        self.started = self.closed = False
        self.on_sign: Callable[[SignJob], None] | None = None

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def sign(self, job: SignJob) -> SigningResult:
        self.calls += 1
        if self.on_sign is not None:
            self.on_sign(job)
        mode = self.mode
        if mode == "hang":
            await asyncio.sleep(self.hang_s)
        if mode == "raise":
            raise RuntimeError("a bug in the provider")
        if mode == "policy":
            raise PolicyError("not a TikTok URL")
        result = self.service.sign(job.url, job.method, job.body, job.user_agent, job.ms_token, parsed=job.parsed)
        if mode == "corrupt":
            return corrupt_result(result)
        if mode != "ok" and mode != "hang":
            kind: FailureKind = mode  # type: ignore[assignment]
            raise ProviderError(kind, f"{self.name} scripted {mode}")
        return result

    def info(self) -> dict[str, Any]:
        return {"mode": self.mode, "calls": -1}
