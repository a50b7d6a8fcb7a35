"""Fixtures that run ttsign as a real HTTP server on 127.0.0.1 for the real client libraries."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from ttsign.config import Settings
from ttsign.server.app import create_app

NODE_DIR = Path(__file__).parent / "node"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """ttsign served by uvicorn in a background thread."""

    def __init__(self, settings: Settings, **app_kw: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings, **app_kw), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("ttsign test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def ttsign_server() -> Iterator[Callable[..., ServerThread]]:
    started: list[ServerThread] = []

    def factory(app_kw: dict[str, Any] | None = None, **settings: Any) -> ServerThread:
        base: dict[str, Any] = {"log_json": True, "log_level": "warning"}
        base.update(settings)
        srv = ServerThread(Settings(**base), **(app_kw or {})).__enter__()
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.__exit__()


def node_available() -> bool:
    return shutil.which("node") is not None and (NODE_DIR / "node_modules" / "tiktok-live-connector").is_dir()


def run_node(script: str, *args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    if not node_available():
        pytest.fail("node or tests/e2e/node/node_modules is missing: run `make test` (it runs npm ci)")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SIGN_API")}
    full_env.update(env)
    return subprocess.run(
        ["node", script, *args], cwd=NODE_DIR, env=full_env, capture_output=True, text=True, timeout=timeout
    )
