from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from ttsign.config import Settings
from ttsign.server import logs
from ttsign.server.app import create_app


def make_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"log_json": True, "log_level": "warning"}
    base.update(overrides)
    settings = Settings(**base)
    if "log_level" in overrides or "log_json" in overrides:  # create_app leaves logging to the process
        logs.configure(settings.log_level, settings.log_json)
    return settings


@pytest.fixture(autouse=True)
def _quiet_json_logs() -> None:
    """Logging as `ttsign serve` would set it up with the tests' defaults (create_app does not)."""
    logs.configure("warning", True)


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)), raise_server_exceptions=False)
        clients.append(client)
        return client

    yield factory
    for c in clients:
        c.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
