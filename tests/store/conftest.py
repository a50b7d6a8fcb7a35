"""A real redis-server for the store tests (session-wide; `tests/fakes/redis_server.py`), emptied before
each test. tests/api uses the same fixtures (`from tests.store.conftest import redis_server, redis`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The session's Redis, running and empty (a test that stopped it gets it back for the next one)."""
    if not redis_server.running:
        redis_server.start()
    redis_server.flush()
    yield redis_server
    if not redis_server.running:
        redis_server.start()
    redis_server.flush()
