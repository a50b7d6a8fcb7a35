"""Settings from the environment (incl. the origin's names) and the serve-time safety check."""

from __future__ import annotations

import os
import subprocess
import sys

from ttsign.config import Settings


def test_origin_env_names(monkeypatch):
    for k in list(os.environ):
        if k.startswith("TTSIGN_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("HOST", "127.0.0.2")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("SIGNATURE_LIBRARY", "native")
    s = Settings()
    assert (s.port, s.host, s.log_level, s.signature_library) == (9123, "127.0.0.2", "debug", "native")
    monkeypatch.setenv("TTSIGN_PORT", "9200")
    assert Settings().port == 9200  # TTSIGN_* wins


def test_keys_and_hosts_parsing():
    s = Settings(api_keys=" a, b ,,c", allowed_hosts="tiktok.com, .tiktokv.com")
    assert s.api_key_set() == frozenset({"a", "b", "c"})
    assert s.allowed_host_suffixes() == ("tiktok.com", "tiktokv.com")


def _serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_")}
    return subprocess.run(
        [sys.executable, "-m", "ttsign.cli", "serve", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_public_bind_without_keys_is_refused():
    r = _serve("--host", "0.0.0.0", "--port", "1")
    assert r.returncode == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in r.stderr


def test_unknown_store_is_refused_at_start(tmp_path):
    r = _serve("--port", "1", TTSIGN_STORE="mongodb://x")
    assert r.returncode != 0
    assert "not a known store" in (r.stderr + r.stdout)
