"""`TTSIGN_ACCEL=auto|on|off`: `on` refuses to start without the compiled module, `off` never calls it, `auto`
uses it when it imports; `/health` and the `starting` line say which path is active."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.testclient import TestClient

from ttsign.config import Settings
from ttsign.server.app import create_app
from ttsign.server.runner import startup_summary
from ttsign.signing import accel
from ttsign.signing.service import SigningService
from ttsign.signing.signer import Signer, SignerOptions

ROOT = Path(__file__).resolve().parents[2]
API = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30&device_id=7300000000000000001"
ROOM = "https://www.tiktok.com/@someone/live"
WEBCAST = "https://webcast.tiktok.com/webcast/room/enter/?aid=1988&room_id=1"


class Spy:
    """Stands in for the compiled module: records each call, then runs the real function (or refuses all)."""

    def __init__(self, real: ModuleType | None, *, refuse: bool = False) -> None:
        self._real, self._refuse, self.calls = real, refuse, []

    def __getattr__(self, name: str) -> Any:
        if self._refuse:
            raise AssertionError(f"the compiled module was used ({name}) while TTSIGN_ACCEL=off")
        fn = getattr(self._real, name)

        def call(*args: Any) -> Any:
            self.calls.append(name)
            return fn(*args)

        return call


@pytest.fixture
def loader() -> Iterator[None]:
    """Restore what the loader remembers (a test swaps in a spy or pretends the module is missing)."""
    saved = (accel._loaded, accel._why_not, accel._process)
    yield
    accel._loaded, accel._why_not, accel._process = saved


def _missing() -> None:
    accel._loaded, accel._why_not, accel._process = None, "ModuleNotFoundError: No module named 'ttsign_accel'", None


def _sign_everything(settings: Settings) -> list[dict[str, Any]]:
    """Every signing product through the HTTP app: origin (with _signature), v1, classic, webcast, 5.1.3."""
    out = []
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        for path, body in (
            ("/signature", API),
            ("/signature", ROOM),
            ("/v1/sign", {"url": API, "method": "POST", "body": "x=1"}),
            ("/v1/sign", {"url": WEBCAST, "method": "POST"}),
        ):
            r = c.post(path, content=body) if isinstance(body, str) else c.post(path, json=body)
            assert r.status_code == 200, r.text
            out.append(r.json())
        health = c.get("/health").json()
    out.append(health["components"]["signer"])
    return out


def test_on_refuses_to_start_without_the_compiled_module() -> None:
    """`ttsign serve` with TTSIGN_ACCEL=on and no module: one line, exit code 2, before anything listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_")}
    env.update(PYTHONPATH=str(ROOT), TTSIGN_ACCEL="on")
    code = "import sys; sys.modules['ttsign_accel'] = None; from ttsign.cli import app; app()"
    r = subprocess.run(
        [sys.executable, "-c", code, "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: TTSIGN_ACCEL=on but the compiled fast path"), r.stderr
    assert "make accel" in lines[0] and "Traceback" not in r.stderr


def test_on_and_auto_without_the_module(loader: None) -> None:
    _missing()
    with pytest.raises(accel.AccelUnavailable, match="TTSIGN_ACCEL=on"):
        Signer(SignerOptions(accel="on"))
    signer = Signer(SignerOptions(accel="auto"))  # auto falls back to pure Python
    assert signer.accel is None and signer.accel_path == "python"
    assert signer.sign(API).tokens["X-Bogus"] == "1"
    assert startup_summary(Settings(TTSIGN_ACCEL="auto"), host="127.0.0.1", port=1, workers=1)["accel"] == (
        "python (ttsign_accel not built)"
    )
    assert startup_summary(Settings(TTSIGN_ACCEL="on"), host="127.0.0.1", port=1, workers=1)["accel"] == (
        "unavailable (TTSIGN_ACCEL=on)"
    )


def test_off_never_calls_the_compiled_module(compiled: ModuleType, loader: None) -> None:
    accel._loaded, accel._why_not, accel._process = Spy(compiled, refuse=True), None, accel._UNSET  # type: ignore[assignment]
    answers = _sign_everything(Settings(TTSIGN_ACCEL="off", TTSIGN_GNARLY_VERSION="5.3.2"))
    assert answers[-1]["accel"] == "python" and answers[-1]["self_test"]["passed"], answers[-1]
    assert startup_summary(Settings(TTSIGN_ACCEL="off"), host="127.0.0.1", port=1, workers=1)["accel"] == "python"
    signer = Signer(SignerOptions(accel="off", gnarly_version="5.1.3"))
    SigningService(signer).sign(API, legacy=True)  # 5.1.3, the legacy products: still no compiled call


def test_auto_uses_the_compiled_module_everywhere(compiled: ModuleType, loader: None) -> None:
    """The same traffic with `auto` goes through the compiled module (so the `off` test above can fail)."""
    spy = Spy(compiled)
    accel._loaded, accel._why_not, accel._process = spy, None, accel._UNSET  # type: ignore[assignment]
    answers = _sign_everything(Settings(TTSIGN_ACCEL="auto"))
    assert answers[-1]["accel"] == "compiled" and answers[-1]["self_test"]["passed"], answers[-1]
    assert {"plain_url", "sign_full_532", "legacy_signature", "xbogus"} <= set(spy.calls), spy.calls
    signer = Signer(SignerOptions(accel="on", gnarly_version="5.1.3"))
    signer.sign(API)
    assert "sign_full_513" in spy.calls
    assert startup_summary(Settings(TTSIGN_ACCEL="auto"), host="127.0.0.1", port=1, workers=1)["accel"] == "compiled"
