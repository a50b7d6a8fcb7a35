"""Relay tests: ttsign served by uvicorn in a thread, its upstream bases on the module's offline fake TikTok."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerThread
from tests.fakes.tiktok import FakeTikTok
from ttsign.config import Settings
from ttsign.server import logs

GRACE_S = 0.6
SERVER_GRACE_S = 3.0
"""A served relay keeps a room this long after its last subscriber: a test's next request finds the same room."""


def relay_settings(fake: FakeTikTok, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "log_json": True,
        "log_level": "warning",
        "tiktok_www": fake.base_url,
        "ttwid_url": fake.ttwid_url,
        "webcast_url": fake.webcast_url,
        "ws_url": fake.ws_url,
        "upstream_timeout_s": 3.0,
        "connects_per_hour": 1_000_000,
        "relay_grace_s": GRACE_S,
        "rate_limit_minute": 0,
        "rate_limit_hour": 0,
        "rate_limit_day": 0,
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture(autouse=True)
def _quiet_logs() -> None:
    """Logging as `ttsign serve` sets it up with the tests' level (create_app leaves it to the process)."""
    logs.configure("warning", True)


@pytest.fixture
def relay_server(fake: FakeTikTok) -> Iterator[Callable[..., ServerThread]]:
    """`relay_server(**settings)`: a started ttsign on the fake (stopped after the test)."""
    started: list[ServerThread] = []

    def factory(**overrides: Any) -> ServerThread:
        overrides.setdefault("relay_grace_s", SERVER_GRACE_S)
        srv = ServerThread(relay_settings(fake, **overrides)).__enter__()
        started.append(srv)
        return srv

    yield factory
    for srv in reversed(started):
        srv.__exit__(None, None, None)


async def sse_events(client: httpx.AsyncClient, url: str, n: int, headers: dict[str, str] | None = None) -> list[Any]:
    """The first `n` SSE events of `url` as (id, event, data) triples (data parsed as JSON)."""
    out: list[Any] = []
    head = {"Accept": "text/event-stream", **(headers or {})}
    async with client.stream("GET", url, headers=head) as resp:
        assert resp.status_code == 200, await resp.aread()
        fields: dict[str, str] = {}
        async for line in resp.aiter_lines():
            if line == "":
                if "data" in fields:
                    out.append((fields.get("id"), fields.get("event"), json.loads(fields["data"])))
                    if len(out) >= n:
                        break
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
    return out
