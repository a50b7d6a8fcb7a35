"""Older clients, unmodified, each in its own environment (built by `make clients`), through ttsign to the fake:

- TikTokLive 6.6.5 (`.venvs/tiktoklive66`): the sign host set only by `WebDefaults.tiktok_sign_url` (the
  README's line); it calls `GET /webcast/fetch/` and posts a form body to `/webcast/sign_url/`.
- tiktok-live-connector 1.2.3 (`tests/e2e/node-connector1`): signs through `GET /webcast/sign_url?url=...`,
  then fetches the signed im/fetch URL from the fake itself and opens the socket it names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.fakes.tiktok import CHAT_TEXTS, FAKE_ROOM_ID, FAKE_USER, HISTORY_CHAT_TEXT, FakeTikTok

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TTL66_PYTHON = ROOT / ".venvs" / "tiktoklive66" / "bin" / "python"
TTL66_DRIVER = Path(__file__).parent / "envs" / "tiktoklive66" / "drive.py"
CONNECTOR1_DIR = Path(__file__).parent / "node-connector1"
GIFT_URL = "https://webcast.tiktok.com/webcast/gift/list/?aid=1988&app_name=tiktok_web&room_id=7312345678901234567"


def upstream(fake: FakeTikTok, **extra: Any) -> dict[str, Any]:
    return {
        "tiktok_www": fake.base_url,
        "ttwid_url": fake.ttwid_url,
        "webcast_url": fake.webcast_url,
        "ws_url": fake.ws_url,
        **extra,
    }


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SIGN_API", "WHITELIST_AUTHENTICATED"))}


def _last(out: subprocess.CompletedProcess[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lines = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    assert lines and lines[-1].get("done"), (out.stdout[-2000:], out.stderr[-2000:])
    return lines[-1], lines


def run_ttl66(*args: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not TTL66_PYTHON.exists():
        pytest.fail(f"{TTL66_PYTHON} is missing: run `make clients` (it builds tests/e2e/envs/tiktoklive66)")
    out = subprocess.run(
        [str(TTL66_PYTHON), str(TTL66_DRIVER), *args], env=_clean_env(), capture_output=True, text=True, timeout=45
    )
    return _last(out)


def run_connector1(*args: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if shutil.which("node") is None or not (CONNECTOR1_DIR / "node_modules" / "tiktok-live-connector").is_dir():
        pytest.fail("node or tests/e2e/node-connector1/node_modules is missing: run `make clients` (it runs npm ci)")
    out = subprocess.run(
        ["node", "drive.js", *args], cwd=CONNECTOR1_DIR, env=_clean_env(), capture_output=True, text=True, timeout=45
    )
    return _last(out)


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# ---- TikTokLive 6.6.5 -----------------------------------------------------------------------------------


def test_tiktoklive66_connects_through_the_trailing_slash_fetch_and_receives_chat(fake, ttsign_server) -> None:
    srv = ttsign_server(**upstream(fake, api_keys="key-66-0123456789"))
    done, lines = run_ttl66("connect", srv.url, fake.base_url, fake.webcast_url, "key-66-0123456789")
    assert done["ok"], lines
    assert [x["room_id"] for x in lines if x.get("event") == "connect"] == [FAKE_ROOM_ID]
    assert done["comments"][:2] == list(CHAT_TEXTS)
    accepted = [s for s in fake.state()["sockets"] if s.get("accepted")]
    assert accepted and accepted[-1]["ttwid_issued"] and "im_enter_room" in accepted[-1]["payload_types"]


def test_tiktoklive66_without_the_key_reports_our_401(fake, ttsign_server) -> None:
    srv = ttsign_server(**upstream(fake, api_keys="key-66-0123456789"))
    done, _ = run_ttl66("connect", srv.url, fake.base_url, fake.webcast_url)
    assert not done["ok"] and done["name"] == "SignAPIError" and "401" in done["message"], done


def test_tiktoklive66_signs_with_a_form_body_and_its_denial_is_a_premium_error(ttsign_server) -> None:
    srv = ttsign_server(api_keys="key-66-0123456789")
    denied = "https://example.com/webcast/gift/list/?aid=1988"
    _, lines = run_ttl66("sign", srv.url, "key-66-0123456789", GIFT_URL + "&msToken=stale&X-Bogus=stale", denied)
    signed, refused = lines[:2]
    assert signed["ok"], signed
    q = _query(signed["answer"]["response"]["signedUrl"])
    assert q["room_id"] == "7312345678901234567" and q["msToken"] == ""  # its stale token was stripped
    assert not refused["ok"] and refused["name"] == "PremiumEndpointError", refused


# ---- tiktok-live-connector 1.2.3 -----------------------------------------------------------------------


def test_connector1_signs_im_fetch_through_get_sign_url_and_connects(fake, ttsign_server) -> None:
    # 1.x fetches the signed im/fetch URL itself: here the fake's host, so ttsign must be allowed to sign it.
    srv = ttsign_server(**upstream(fake, allowed_hosts="tiktok.com,127.0.0.1"))
    done, lines = run_connector1("connect", srv.url, fake.base_url, FAKE_USER)
    assert done["ok"], lines
    assert HISTORY_CHAT_TEXT in done["chats"]
    assert any(x.get("event") == "websocketConnected" for x in lines)
    state = fake.state()
    fetches = [r for r in state["requests"] if r["path"] == "/webcast/im/fetch/"]
    assert fetches and "msToken" in fetches[-1]["query"] and "X-Gnarly" not in fetches[-1]["query"]
    accepted = [s for s in state["sockets"] if s.get("accepted")]
    assert accepted and accepted[-1]["ttwid_issued"]


def test_connector1_sign_with_key_and_without(ttsign_server) -> None:
    srv = ttsign_server(api_keys="key-c1-0123456789")
    done, lines = run_connector1("sign", srv.url, GIFT_URL, "key-c1-0123456789")
    assert done["ok"], done
    assert "msToken=" in done["signedUrl"] and done["userAgent"].startswith("Mozilla/5.0")
    assert {"event": "cookie", "name": "msToken", "value": ""} in lines  # it stores the msToken we answer
    done, _ = run_connector1("sign", srv.url, GIFT_URL)
    assert not done["ok"] and done["name"] == "SignatureError" and "401" in done["message"], done


def test_connector1_denial_is_its_signature_error(ttsign_server) -> None:
    srv = ttsign_server()
    done, _ = run_connector1("sign", srv.url, "https://example.com/webcast/gift/list/")
    assert not done["ok"] and done["name"] == "SignatureError" and "403" in done["message"], done
