"""What the SDK build and player watch tests share: a context (settings + the upstream client) on the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.tiktok import FakeTikTok
from ttsign.config import Settings
from ttsign.monitor import baseline as bl
from ttsign.monitor.state import MonitorState
from ttsign.tiktok.http import Upstream


@dataclass
class Ctx:
    settings: Settings
    upstream: Upstream
    monitor: MonitorState = field(default_factory=MonitorState)


@asynccontextmanager
async def watching(fake: FakeTikTok, **env: Any) -> AsyncIterator[Ctx]:
    """A `Services`-shaped context whose www is the fake, its upstream client closed after."""
    settings = Settings(TTSIGN_TIKTOK_WWW=fake.base_url, TTSIGN_UPSTREAM_TIMEOUT=3, **env)
    ctx = Ctx(settings, Upstream.from_settings(settings))
    try:
        yield ctx
    finally:
        await ctx.upstream.close()


async def pin(ctx: Ctx) -> bl.Baseline:
    """A baseline of the fake as it is now (page, SDK and socket facts; no signing)."""
    base = await bl.gather(ctx.settings, http=ctx, tokens=False)
    assert base.errors == {}, base.errors
    return base
