"""The client-compatible sign_url paths beyond TikTokLive 7.x / connector 2.x (issue 10): Euler's newer SDKs'
`POST /tiktok/signing/encrypt/sign_url`. Hostile inputs are 4xx JSON, never a 500.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

API_URL = "https://www.tiktok.com/api/user/detail/?aid=1988&device_id=7312345678901234567&uniqueId=someone"
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"
EULER = "/tiktok/signing/encrypt/sign_url"


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_euler_sign_url_signs_with_every_field(client) -> None:
    body = {
        "url": API_URL,
        "userAgent": UA,
        "method": "GET",
        "sessionId": "caller-session-0123456789",
        "ttTargetIdc": "useast1a",
        "ttwid": "1%7Ccaller-ttwid-0123456789",
        "payload": "",
        "type": "fetch",
        "includeBrowserParams": True,
        "includeVerifyFp": False,
    }
    r = client.post(EULER + "?client=ttlive-other", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["x-ttsign-provider"] == "native"
    data = r.json()
    assert data["code"] == 200 and len(data["message"]) >= 19
    resp = data["response"]
    q = _query(resp["signedUrl"])
    assert q["uniqueId"] == "someone" and "X-Bogus" in q and "msToken" in q
    assert "verifyFp" not in q and "browser_name" not in q  # the URL is signed as sent, nothing added
    assert resp["userAgent"] == UA and resp["tokens"] and isinstance(resp["cookies"], list)
    for secret in (body["sessionId"], body["ttwid"]):
        assert secret not in r.text


def test_euler_sign_url_same_answer_as_webcast_sign_url(client) -> None:
    body = {"url": API_URL, "userAgent": UA, "method": "GET"}
    ours = client.post(EULER, json=body).json()["response"]
    theirs = client.post("/webcast/sign_url", json=body).json()["response"]
    assert set(ours) == set(theirs)
    assert _query(ours["signedUrl"]).keys() == _query(theirs["signedUrl"]).keys()


def test_euler_sign_url_denial_in_body(client) -> None:
    r = client.post(EULER, json={"url": "https://example.com/api/?a=1"})
    assert r.status_code == 200 and r.json()["code"] == 403 and "response" not in r.json()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"url": API_URL, "includeBrowserParams": "true"}, 422),
        ({"url": API_URL, "includeVerifyFp": 1}, 422),
        ({"url": API_URL, "ttwid": 5}, 422),
        ({"url": API_URL, "ttwid": "a\x00b"}, 400),
        ({"url": API_URL, "method": "BREW"}, 400),
        ({"userAgent": UA}, 400),
        ({"url": API_URL, "userAgent": "x" * 5000}, 400),
    ],
)
def test_euler_sign_url_hostile_bodies(client, body, status) -> None:
    r = client.post(EULER, json=body)
    assert r.status_code == status, r.text
    assert r.json()["code"] == status and len(r.json()["message"]) >= 19


@pytest.mark.parametrize(
    ("raw", "ctype", "status"),
    [
        (b'{"url": "x", "url": "y"}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"[1]", "application/json", 400),
        (b'{"url": "' + API_URL.encode() + b'"}', "application/json; charset=latin-1", 415),
    ],
)
def test_euler_sign_url_hostile_raw(client, raw, ctype, status) -> None:
    r = client.post(EULER, content=raw, headers={"content-type": ctype})
    assert r.status_code == status, r.text
    assert r.json()["code"] == status
