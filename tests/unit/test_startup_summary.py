"""The `starting` line names the providers TTSIGN_PROVIDERS configures, in order (not the origin's
SIGNATURE_LIBRARY, which has no effect)."""

from __future__ import annotations

from ttsign.config import Settings
from ttsign.server.runner import startup_summary


def test_the_starting_line_lists_the_configured_providers_in_order() -> None:
    settings = Settings(TTSIGN_PROVIDERS="native, remote", TTSIGN_REMOTE_URL="http://127.0.0.1:9")
    summary = startup_summary(settings, host="127.0.0.1", port=8080, workers=1)
    assert summary["providers"] == ["native", "remote"]
    assert startup_summary(Settings(), host="127.0.0.1", port=8080, workers=1)["providers"] == ["native"]
