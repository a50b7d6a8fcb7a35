"""Fixtures shared by the upstream-client tests: one fake TikTok per module, reset around each test."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from ttsign.tiktok.http import Upstream


def closed_port_base() -> str:
    """`http://127.0.0.1:PORT` where nothing listens (connection refused, fast)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream(timeout_s=5.0)
    yield up
    await up.close()
