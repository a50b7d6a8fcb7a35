"""Opt-in checks against the real TikTok: `TTSIGN_LIVE_TESTS=1 TTSIGN_LIVE_USER=<someone live> make test`.

Never run in CI (no internet there). They report what TikTok does today, so a failure here is news about
TikTok, not necessarily a bug in ttsign.
"""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from ttsign.cli import app
from ttsign.config import get_settings

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(os.environ.get("TTSIGN_LIVE_TESTS") != "1", reason="set TTSIGN_LIVE_TESTS=1 to talk to TikTok"),
]


def test_room_lookup_real_tiktok():
    get_settings.cache_clear()
    r = CliRunner().invoke(app, ["room", os.environ.get("TTSIGN_LIVE_ROOM_USER", "tiktok")])
    assert r.exit_code == 0, r.output


def test_check_real_live_user():
    user = os.environ.get("TTSIGN_LIVE_USER")
    if not user:
        pytest.skip("set TTSIGN_LIVE_USER to a username that is LIVE now")
    get_settings.cache_clear()
    r = CliRunner().invoke(app, ["check", user, "--events", "2", "--timeout", "30"])
    print(r.output)
    assert r.exit_code == 0, r.output
