"""Fixtures every test folder shares: one offline fake TikTok per test module, reset around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
