"""The app's lifespan closes every companion it started, in reverse, even when one fails to close."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ttsign.config import Settings
from ttsign.server import app as app_module


class _Companion:
    def __init__(self, name: str, log: list[str], fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    async def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def close(self) -> None:
        self.log.append(f"close {self.name}")
        if self.fail:
            raise RuntimeError("cannot close")


def test_a_companion_that_fails_to_close_does_not_keep_the_others_open(monkeypatch: Any) -> None:
    log: list[str] = []
    made = iter([[_Companion("a", log)], [_Companion("b", log, fail=True)], [_Companion("c", log)], []])

    class _Feature:
        @staticmethod
        def install(_services: Any) -> list[Any]:
            return next(made)

    for name in ("alerts", "maintenance", "monitor_service", "relay_service"):
        monkeypatch.setattr(app_module, name, _Feature)
    app = app_module.create_app(Settings(rate_limit_minute=0, rate_limit_hour=0, rate_limit_day=0))
    with TestClient(app) as client:
        assert client.get("/livez").status_code == 200
    assert log == ["start a", "start b", "start c", "close c", "close b", "close a"]
