"""The real client libraries' own signing code against ttsign's client-compatible routes.

TikTokLive 7.0.1 (PyPI) and tiktok-live-connector 2.5.0 (npm) are unmodified test dependencies.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from TikTokLive.client.errors import PremiumEndpointError, UnexpectedSignatureError
from TikTokLive.client.web.web_signer import TikTokSigner

from tests.e2e.conftest import run_node

pytestmark = pytest.mark.e2e

GIFT_URL = "https://webcast.tiktok.com/webcast/gift/list/?aid=1988&app_name=tiktok_web&room_id=7312345678901234567"
API_URL = "https://www.tiktok.com/api/user/detail/?aid=1988&device_id=7312345678901234567&uniqueId=someone"
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"


async def _ttl_sign(base: str, url: str, key: str | None = None):
    signer = TikTokSigner(sign_api_key=key, sign_api_base=base)
    return await signer.webcast_sign(url=url, method="GET", sign_url_type="fetch", payload="", user_agent=UA)


async def test_tiktoklive_signer_accepts_our_answer(ttsign_server):
    srv = ttsign_server()
    resp = await _ttl_sign(srv.url, API_URL + "&msToken=old&X-Bogus=old")
    signed = resp.signed_url
    q = dict(parse_qsl(urlsplit(signed).query, keep_blank_values=True))
    assert q["uniqueId"] == "someone" and q["X-Bogus"] == "1" and q["X-Gnarly"].startswith("M")
    assert q["msToken"] == ""  # the client's stale token was stripped; we never invent one
    assert resp.user_agent == UA


async def test_tiktoklive_signer_with_api_key(ttsign_server):
    srv = ttsign_server(api_keys="ttl-key-1")
    resp = await _ttl_sign(srv.url, GIFT_URL, key="ttl-key-1")
    assert "msToken=" in resp.signed_url
    with pytest.raises(UnexpectedSignatureError):  # wrong key: our 401 JSON is an error it reports
        await _ttl_sign(srv.url, GIFT_URL, key="wrong")


async def test_tiktoklive_denial_is_premium_error(ttsign_server):
    srv = ttsign_server()
    with pytest.raises(PremiumEndpointError):
        await _ttl_sign(srv.url, "https://example.com/webcast/gift/list/?aid=1988")


async def test_tiktoklive_signer_on_our_429_reports_not_crashes(ttsign_server):
    srv = ttsign_server(rate_limit_minute=1, rate_limit_hour=0, rate_limit_day=0, open_rate_limit=True)
    await _ttl_sign(srv.url, GIFT_URL)
    # TikTokLive's sign_url path has no 429 branch (SignatureRateLimitError is raised on its
    # /webcast/fetch path); our 429 JSON surfaces as its own UnexpectedSignatureError, not a crash.
    with pytest.raises(UnexpectedSignatureError) as exc:
        await _ttl_sign(srv.url, GIFT_URL)
    assert exc.value.response is not None and exc.value.response.status_code == 429


def test_connector_sign_url(ttsign_server):
    srv = ttsign_server()
    out = run_node("sign_url.mjs", GIFT_URL, env={"SIGN_API_URL": srv.url})
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["ok"], (result, out.stderr[-2000:])
    resp = result["data"]["response"]
    assert resp["tokens"] and "msToken=" in resp["signedUrl"]
    assert "X-Gnarly" not in resp["signedUrl"]  # gift/list is not signed by the page (tokens.md §0)


def test_connector_sign_url_with_key_and_429(ttsign_server):
    srv = ttsign_server(api_keys="node-key", rate_limit_minute=1, rate_limit_hour=0, rate_limit_day=0)
    first = run_node("sign_url.mjs", API_URL, env={"SIGN_API_URL": srv.url, "SIGN_API_KEY": "node-key"})
    assert json.loads(first.stdout.strip().splitlines()[-1])["ok"], first.stderr[-2000:]
    second = run_node("sign_url.mjs", API_URL, env={"SIGN_API_URL": srv.url, "SIGN_API_KEY": "node-key"})
    result = json.loads(second.stdout.strip().splitlines()[-1])
    assert not result["ok"] and result["name"] == "SignatureMissingTokensError", result
    assert "Too many requests" in result["message"]


def test_connector_denial_is_premium_error(ttsign_server):
    srv = ttsign_server()
    out = run_node("sign_url.mjs", "https://example.com/webcast/gift/list/", env={"SIGN_API_URL": srv.url})
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert not result["ok"] and result["name"] == "PremiumFeatureError", result
