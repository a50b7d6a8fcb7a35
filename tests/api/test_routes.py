"""One test per route and per documented answer of the HTTP API."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from ttsign.algorithms import gnarly, xbogus
from ttsign.algorithms.payloads import dynosaur532, gnarly532

API_URL = (
    "https://www.tiktok.com/api/user/detail/?aid=1988&app_name=tiktok_web&device_id=7312345678901234567"
    "&uniqueId=someone&browser_platform=Win32"
)
ROOM_URL = "https://www.tiktok.com/@someone/live"
WEBCAST_URL = "https://webcast.tiktok.com/webcast/im/fetch/?aid=1988&room_id=7312345678901234567"


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["version"]
    assert {"signer", "providers", "store"} <= set(body["components"])  # the origin contract, and more
    assert r.headers["x-request-id"]


def test_signature_text_plain_full_suffix(client):
    r = client.post("/signature", content=API_URL, headers={"content-type": "text/plain"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and isinstance(body["response_time_ms"], float)
    data = body["data"]
    assert set(data) == {
        "signature",
        "signed_url",
        "X-Bogus",
        "X-Gnarly",
        "X-Dynosaur",
        "msToken",
        "x-tt-params",
        "navigator",
        "provider",
        "cached",
        "age_s",
    }
    assert data["provider"] == "native" and r.headers["x-ttsign-provider"] == "native"
    assert set(data["navigator"]) == {
        "deviceScaleFactor",
        "user_agent",
        "browser_language",
        "browser_platform",
        "browser_name",
        "browser_version",
    }
    assert data["signature"].startswith("_02B4Z6wo")
    url = data["signed_url"]
    # the page's order: ... X-Dynosaur, msToken, X-Bogus=1, X-Gnarly last
    tail = url.split("&X-Dynosaur=", 1)[1]
    assert "&msToken=&X-Bogus=1&X-Gnarly=" in tail
    assert data["X-Bogus"] == "1" and data["msToken"] == ""
    assert url.endswith("&X-Gnarly=" + data["X-Gnarly"])
    # both tokens open and are bound to what was sent
    g = gnarly532.decode(data["X-Gnarly"])
    d = dynosaur532.decode(data["X-Dynosaur"])
    assert g.env_code == 65 and g.ub_code == 8
    assert d.env_code == 65
    assert gnarly.unseal(data["X-Gnarly"]).magic == 0x4B


def test_signature_room_url_classic_xbogus(client):
    r = client.post("/signature", content=ROOM_URL, headers={"content-type": "text/plain"})
    assert r.status_code == 200
    data = r.json()["data"]
    assert len(data["X-Bogus"]) == 28 and data["X-Bogus"].startswith("DFSz")
    assert data["X-Gnarly"] == "" and data["X-Dynosaur"] == ""
    f = xbogus.decode(data["X-Bogus"])
    assert f.header == bytes.fromhex("4000410e")
    assert not xbogus.verify(data["X-Bogus"], "msToken=", "", data["navigator"]["user_agent"])


def test_sign_json_room_url_and_url(client):
    for key in ("room_url", "url"):
        r = client.post("/sign", json={key: API_URL})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["signed_url"].startswith("https://www.tiktok.com/api/user/detail/?aid=1988")


def test_sign_passes_real_mstoken_through_and_uses_user_agent(client):
    ua = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/141.0.0.0 Safari/537.36"
    )
    r = client.post("/sign", json={"url": API_URL, "ms_token": "realTokenFromTikTok_abc-123", "user_agent": ua})
    data = r.json()["data"]
    assert "&msToken=realTokenFromTikTok_abc-123&X-Bogus=1" in data["signed_url"]
    assert data["navigator"]["user_agent"] == ua
    assert data["navigator"]["browser_platform"] == "MacIntel"


def test_webcast_im_fetch_never_gets_gnarly(client):
    r = client.post("/v1/sign", json={"url": WEBCAST_URL})
    assert r.status_code == 200
    data = r.json()["data"]
    assert "X-Gnarly" not in data["signed_url"] and "X-Dynosaur" not in data["signed_url"]
    assert _query(data["signed_url"])["msToken"] == ""
    assert data["product"] == "webcast"


def test_v1_sign_fields(client):
    r = client.post("/v1/sign", json={"url": API_URL, "method": "post", "body": '{"a":1}'})
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["method"] == "POST" and data["product"] == "full"
    assert data["headers"]["User-Agent"] == data["user_agent"]
    g = gnarly532.decode(data["tokens"]["X-Gnarly"])
    import hashlib

    assert g.body_md5 == hashlib.md5(b'{"a":1}').hexdigest()


def test_v1_decode_roundtrip(client):
    signed = client.post("/v1/sign", json={"url": API_URL}).json()["data"]
    for name, kind in (("X-Gnarly", "x-gnarly"), ("X-Dynosaur", "x-dynosaur")):
        r = client.post("/v1/decode", json={"token": signed["tokens"][name]})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["type"] == kind
    room = client.post("/v1/sign", json={"url": ROOM_URL}).json()["data"]
    r = client.post("/v1/decode", json={"token": room["tokens"]["X-Bogus"]})
    assert r.json()["data"]["type"] == "x-bogus"


def test_v1_decode_garbage_is_400(client):
    r = client.post("/v1/decode", json={"token": "not-a-token"})
    assert r.status_code == 400
    assert "cannot decode" in r.json()["message"]


def test_webcast_sign_url_shape(client):
    r = client.post(
        "/webcast/sign_url",
        json={
            "url": "https://webcast.tiktok.com/webcast/gift/list/?aid=1988",
            "userAgent": (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"
            ),
            "method": "GET",
            "type": "fetch",
            "sessionId": "secret-session",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == 200 and body["message"]
    resp = body["response"]
    assert set(resp) == {
        "signedUrl",
        "userAgent",
        "browserName",
        "browserVersion",
        "tokens",
        "requestHeaders",
        "cookies",
    }
    assert "msToken" in resp["signedUrl"] and resp["tokens"]
    assert resp["browserVersion"] == resp["userAgent"].removeprefix("Mozilla/")


def test_tiktok_sign_url_shape(client):
    r = client.post("/tiktok/sign_url", json={"url": API_URL, "method": "GET"})
    assert r.status_code == 200
    assert "X-Gnarly" in r.json()["response"]["tokens"]


def test_sign_url_denials(client):
    bad = {"url": "https://example.com/api/?a=1"}
    r = client.post("/webcast/sign_url", json=bad)
    assert r.status_code == 200 and r.json()["code"] == 403 and len(r.json()["message"]) >= 19
    r = client.post("/tiktok/sign_url", json=bad)
    assert r.status_code == 403 and len(r.json()["message"]) >= 19


def test_metrics(client):
    client.post("/signature", content=ROOM_URL, headers={"content-type": "text/plain"})
    r = client.get("/metrics")
    assert r.status_code == 200
    assert 'ttsign_http_requests_total{method="POST",route="/signature",status="200"}' in r.text
    assert "ttsign_sign_seconds_bucket" in r.text


def test_request_id_echoed_or_made(client):
    r = client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = client.get("/health", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces" and len(r.headers["x-request-id"]) == 32


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    for path in ("/signature", "/sign", "/webcast/sign_url", "/tiktok/sign_url", "/v1/sign", "/v1/decode"):
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_unknown_route_and_method_are_json(client):
    r = client.get("/nope")
    assert r.status_code == 404 and len(r.json()["message"]) >= 19
    r = client.get("/signature")
    assert r.status_code == 405 and r.json()["code"] == 405
