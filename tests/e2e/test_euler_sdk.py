"""End to end: Euler's own SDKs, unmodified, against ttsign and the offline TikTok (issue 10).

* Python: `EulerApiSdk==0.5.0` in its own venv (`.venvs/eulerapisdk`, from
  `tests/e2e/envs/eulerapisdk/requirements.txt`), driven by `tests/e2e/envs/eulerapisdk/euler_driver.py`;
* Node: `tiktok-live-api-sdk@0.6.0` (`tests/e2e/node-euler/`, lockfile), driven by `euler.mjs` there.

Both are OpenAPI-generated clients. Neither raises on a 429 or a 503 by default: the Python SDK parses them
into its own `FetchWebcastUrlResponse429` / `...503` (and `SignTikTokUrlResponse429`) models, whose
`from_dict` requires `code` and `message`; Node's `EulerStreamApiClient` accepts every status and hands back
the JSON, while the SDK's bare API classes (axios' default status check) throw an `AxiosError` carrying it.
These tests hold ttsign's answers to each of those paths: 429 from a tiny rate limit in the test settings,
503 from TikTok answering without a ttwid (the fake's `no_cookies`: "no TikTok identity available").
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.tiktok import FAKE_ROOM_ID, FAKE_USER, FakeTikTok
from ttsign.tiktok import proto

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venvs" / "eulerapisdk" / "bin" / "python"
PY_DRIVER = ROOT / "tests" / "e2e" / "envs" / "eulerapisdk" / "euler_driver.py"
NODE_DIR = ROOT / "tests" / "e2e" / "node-euler"
SDKS = ("python", "node")
GIFTS = "https://webcast.tiktok.com/webcast/gift/list/?aid=1988&app_name=tiktok_web&room_id=" + FAKE_ROOM_ID
SESSION = "0ddba11c0ffee0123456789abcdef012"


def run(sdk: str, base: str, action: str, arg: str = "", cookie: str = "", key: str = "") -> dict[str, Any]:
    if sdk == "python":
        if not PY.exists():
            pytest.fail("the EulerApiSdk test env .venvs/eulerapisdk is missing: run `make clients`")
        cmd = [str(PY), str(PY_DRIVER), base, key, action, arg, cookie]
        cwd = ROOT
    else:
        if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "tiktok-live-api-sdk").is_dir():
            pytest.fail("node or tests/e2e/node-euler/node_modules is missing: run `make clients`")
        cmd = ["node", "euler.mjs", base, key, action, arg, cookie]
        cwd = NODE_DIR
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    assert lines, (out.returncode, out.stdout[-2000:], out.stderr[-2000:])
    return dict(json.loads(lines[-1]))


def settings_for(fake: FakeTikTok, **extra: Any) -> dict[str, Any]:
    return {
        "tiktok_www": fake.base_url,
        "ttwid_url": fake.ttwid_url,
        "webcast_url": fake.webcast_url,
        "ws_url": fake.ws_url,
        "upstream_timeout_s": 3.0,
        **extra,
    }


def assert_connect_answer(got: dict[str, Any], fake: FakeTikTok) -> None:
    assert got["status"] == 200, got
    assert got["headers"]["x-set-tt-cookie"].startswith("ttwid=")
    assert got["headers"]["x-room-id"] == FAKE_ROOM_ID
    result = proto.decode_fetch_result(base64.b64decode(got["content_b64"]))
    assert result.cursor and result.push_server == fake.ws_url.split("?", 1)[0] and result.is_first


def assert_error(got: dict[str, Any], sdk: str, status: int, model: str) -> None:
    """The SDK's own 429/503 path: Python's typed model (code + message), Node's parsed JSON."""
    assert got["status"] == status, got
    if sdk == "python":
        assert got["parsed"] == model and got["code"] == status and len(got["message"]) >= 19, got
    else:
        assert got["json"]["code"] == status and len(got["json"]["message"]) >= 19, got


@pytest.mark.parametrize("sdk", SDKS)
def test_sign_url_parsed_by_the_sdk(fake, ttsign_server, sdk):
    srv = ttsign_server(**settings_for(fake))
    got = run(sdk, srv.url, "sign", GIFTS)
    assert got["status"] == 200, got
    if sdk == "python":
        assert got["parsed"] == "SignTikTokUrlResponse" and got["code"] == 200
        signed, tokens = got["signed_url"], got["tokens"]
    else:
        signed, tokens = got["json"]["response"]["signedUrl"], got["json"]["response"]["tokens"]
    assert signed.startswith("https://webcast.tiktok.com/webcast/gift/list/?aid=1988") and "msToken=" in signed
    assert tokens


@pytest.mark.parametrize("sdk", SDKS)
@pytest.mark.parametrize("route", ["room", "anchor"])
def test_connect_parsed_by_the_sdk(fake, ttsign_server, sdk, route):
    srv = ttsign_server(**settings_for(fake))
    got = run(sdk, srv.url, route, FAKE_ROOM_ID if route == "room" else FAKE_USER)
    assert_connect_answer(got, fake)
    if sdk == "python":
        assert got["parsed"] == "NoneType"  # a 200 is protobuf: the SDK types only its JSON answers
    lookups = [r for r in fake.state()["requests"] if r["path"].startswith("/api-live/")]
    assert bool(lookups) == (route == "anchor")


@pytest.mark.parametrize("sdk", SDKS)
def test_rate_limits_parsed_by_the_sdk(fake, ttsign_server, sdk):
    # no minute window: it refills ~1 token/s at 60/min, faster than two SDK processes start
    srv = ttsign_server(**settings_for(fake, rate_limit_minute=0, rate_limit_hour=500, rate_limit_day=5000))
    assert run(sdk, srv.url, "room", FAKE_ROOM_ID)["status"] == 200
    got = run(sdk, srv.url, "limits")
    assert got["status"] == 200, got
    windows = got["windows"] if sdk == "python" else {k: got["json"].get(k) for k in ("minute", "hour", "day")}
    if sdk == "python":
        assert got["parsed"] == "GetRateLimits" and got["code"] == 200
    assert windows["hour"]["max"] == 500 and windows["hour"]["remaining"] == 499
    assert windows["day"]["max"] == 5000 and windows["day"]["remaining"] == 4999 and windows["minute"] is None
    assert windows["hour"]["reset_at"].endswith("Z")


@pytest.mark.parametrize("sdk", SDKS)
def test_api_key_reaches_ttsign_from_the_sdk(fake, ttsign_server, sdk):
    srv = ttsign_server(**settings_for(fake, api_keys="euler-test-key-1"))
    assert run(sdk, srv.url, "limits", key="euler-test-key-1")["status"] == 200
    assert run(sdk, srv.url, "limits", key="wrong-key-000000")["status"] == 401
    assert_connect_answer(run(sdk, srv.url, "room", FAKE_ROOM_ID, key="euler-test-key-1"), fake)


@pytest.mark.parametrize("sdk", SDKS)
def test_our_429_is_the_sdks_own_429(fake, ttsign_server, sdk):
    limits = {"rate_limit_minute": 1, "rate_limit_hour": 0, "rate_limit_day": 0, "open_rate_limit": True}
    srv = ttsign_server(**settings_for(fake, **limits))
    assert run(sdk, srv.url, "room", FAKE_ROOM_ID)["status"] == 200
    got = run(sdk, srv.url, "room", FAKE_ROOM_ID)
    assert_error(got, sdk, 429, "FetchWebcastUrlResponse429")
    assert got["headers"]["retry-after"] and got["headers"]["ratelimit-remaining"]
    assert_error(run(sdk, srv.url, "anchor", FAKE_USER), sdk, 429, "FetchWebcastUrlByUniqueIdResponse429")
    assert_error(run(sdk, srv.url, "sign", GIFTS), sdk, 429, "SignTikTokUrlResponse429")
    if sdk == "node":
        strict = run(sdk, srv.url, "strict-room", FAKE_ROOM_ID)
        assert strict["threw"] == "AxiosError" and strict["status"] == 429 and strict["json"]["code"] == 429


@pytest.mark.parametrize("sdk", SDKS)
def test_no_identity_503_is_the_sdks_own_503(fake, ttsign_server, sdk):
    srv = ttsign_server(**settings_for(fake))
    fake.configure(no_cookies=True)  # TikTok answers without a ttwid: no identity, a 503 with Retry-After
    got = run(sdk, srv.url, "room", FAKE_ROOM_ID)
    assert_error(got, sdk, 503, "FetchWebcastUrlResponse503")
    assert got["headers"]["retry-after"]
    assert_error(run(sdk, srv.url, "anchor", FAKE_USER), sdk, 503, "FetchWebcastUrlByUniqueIdResponse503")
    if sdk == "node":
        strict = run(sdk, srv.url, "strict-room", FAKE_ROOM_ID)
        assert strict["threw"] == "AxiosError" and strict["status"] == 503 and strict["json"]["code"] == 503


@pytest.mark.parametrize("sdk", SDKS)
def test_the_sdks_x_cookie_header_session_reaches_tiktok_for_that_call_only(fake, ttsign_server, sdk):
    srv = ttsign_server(**settings_for(fake, connect_strategy="relay"))
    cookie = f"sessionid={SESSION}; tt-target-idc=useast2a"
    assert_connect_answer(run(sdk, srv.url, "anchor", FAKE_USER, cookie=cookie), fake)
    seen = fake.state()["requests"]
    lookups = [r for r in seen if r["path"].startswith("/api-live/")]
    fetches = [r for r in seen if r["path"].endswith("/im/fetch/")]
    assert lookups[0]["cookies"]["sessionid"] == SESSION and fetches[0]["cookies"]["sessionid"] == SESSION
    fake.reset()
    assert_connect_answer(run(sdk, srv.url, "room", FAKE_ROOM_ID), fake)
    assert not any(SESSION in json.dumps(r) for r in fake.state()["requests"])
