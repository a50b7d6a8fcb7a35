"""Fixtures every test folder shares: one offline fake TikTok per test module (and, on request, the hostile
proxy in front of it), reset around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.hostile import HostileProxy
from tests.fakes.tiktok import FakeTikTok


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeTikTok]:
    with FakeTikTok() as f:
        yield f


@pytest.fixture
def fake(fake_server: FakeTikTok) -> Iterator[FakeTikTok]:
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture(scope="module")
def proxy_server(fake_server: FakeTikTok) -> Iterator[HostileProxy]:
    with HostileProxy(fake_server.base_url) as p:
        yield p


@pytest.fixture
def proxy(proxy_server: HostileProxy, fake_server: FakeTikTok) -> Iterator[HostileProxy]:
    fake_server.reset()
    proxy_server.clear()
    yield proxy_server
    proxy_server.clear()
    fake_server.reset()
