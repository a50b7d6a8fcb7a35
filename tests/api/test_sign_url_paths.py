"""The client-compatible sign_url paths beyond TikTokLive 7.x / connector 2.x (issue 10): Euler's newer SDKs'
`POST /tiktok/signing/encrypt/sign_url`, TikTokLive 6.6's form-encoded `POST /webcast/sign_url/`, and
tiktok-live-connector 1.x's `GET /webcast/sign_url?url=...`. Hostile inputs are 4xx JSON, never a 500 (more
cases in test_hostile_corpus.py, section 4b).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

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


# ---- TikTokLive 6.6: POST /webcast/sign_url/ with a form body ---------------------------------------------

FORM_CT = {"content-type": "application/x-www-form-urlencoded"}


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


def test_form_body_signs_as_tiktoklive_66_sends_it(client) -> None:
    # what httpx makes of 6.6.5's `data={url, userAgent, method, type, payload}` (payload None -> empty)
    raw = _form(url=API_URL, userAgent=UA, method="GET", type="xhr", payload="")
    r = client.post("/webcast/sign_url/", content=raw, headers=FORM_CT)
    assert r.status_code == 200, r.text
    assert r.headers["x-ttsign-provider"] == "native"
    resp = r.json()["response"]
    q = _query(resp["signedUrl"])
    assert resp["signedUrl"].startswith(API_URL + "&")  # the form value, percent-decoded once
    assert "X-Bogus" in q and "msToken" in q
    assert resp["userAgent"] == UA


def test_form_route_is_served_not_redirected(client) -> None:
    r = client.post("/webcast/sign_url/", content=_form(url=API_URL), headers=FORM_CT, follow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.headers.get("location"))


def test_form_route_also_takes_the_json_body(client) -> None:
    r = client.post("/webcast/sign_url/", json={"url": API_URL, "userAgent": UA})
    assert r.status_code == 200 and r.json()["response"]["userAgent"] == UA


def test_form_denial_is_code_403_in_the_body(client) -> None:
    r = client.post("/webcast/sign_url/", content=_form(url="https://example.com/x?a=1"), headers=FORM_CT)
    assert r.status_code == 200 and r.json()["code"] == 403 and "response" not in r.json()


def test_form_session_fields_are_accepted_and_not_echoed(client) -> None:
    secret = "caller-session-0123456789abcdef"
    raw = _form(url=API_URL, sessionId=secret, ttTargetIdc="useast1a", ttwid="1%7Cttwid-0123456789")
    r = client.post("/webcast/sign_url/", content=raw, headers=FORM_CT)
    assert r.status_code == 200 and secret not in r.text and "ttwid-0123456789" not in r.text


@pytest.mark.parametrize(
    ("raw", "status", "word"),
    [
        (_form(url=API_URL) + b"&" + _form(url="https://www.tiktok.com/api/other/"), 400, "repeats"),
        (_form(url=API_URL) + b"&method=GET&method=POST", 400, "repeats"),
        (b"&".join(b"f%d=1" % i for i in range(33)), 400, "32 form fields"),
        (_form(url=API_URL) + b"&junk", 400, "name=value"),
        (b"url=%E9t%E9", 400, "UTF-8"),
        (b"url=\xe9", 400, "UTF-8"),
        (_form(url=API_URL) + b"&userAgent=%00", 400, "NUL"),
        (_form(url=API_URL, includeVerifyFp="false"), 422, "boolean"),
        (_form(userAgent=UA), 400, "url"),
        (b"", 400, "empty"),
    ],
)
def test_form_hostile_bodies(client, raw: bytes, status: int, word: str) -> None:
    r = client.post("/webcast/sign_url/", content=raw, headers=FORM_CT)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == status and len(body["message"]) >= 19 and word.lower() in body["message"].lower()


def test_form_route_refuses_other_content_types(client) -> None:
    r = client.post("/webcast/sign_url/", content=_form(url=API_URL), headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "x-www-form-urlencoded" in r.json()["message"]
    latin1 = {"content-type": "application/x-www-form-urlencoded; charset=iso-8859-1"}
    assert client.post("/webcast/sign_url/", content=_form(url=API_URL), headers=latin1).status_code == 415


def test_the_json_route_still_refuses_a_form_body(client) -> None:
    assert client.post("/webcast/sign_url", content=_form(url=API_URL), headers=FORM_CT).status_code == 415


# ---- tiktok-live-connector 1.x: GET /webcast/sign_url?url=... ---------------------------------------------


def test_get_sign_url_answers_the_flat_keys_1x_reads(client) -> None:
    r = client.get("/webcast/sign_url", params={"url": API_URL, "client": "ttlive-node", "uuc": "1"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["code"] == 200 and data["signedUrl"] == data["response"]["signedUrl"]
    assert data["User-Agent"] == data["response"]["userAgent"] and data["User-Agent"].startswith("Mozilla/5.0")
    assert data["msToken"] == _query(data["signedUrl"])["msToken"] == ""
    assert "X-Bogus" in _query(data["signedUrl"])


def test_get_sign_url_takes_a_user_agent(client) -> None:
    r = client.get("/webcast/sign_url", params={"url": API_URL, "userAgent": UA})
    assert r.status_code == 200 and r.json()["User-Agent"] == UA


def test_get_sign_url_denial_is_http_403(client) -> None:
    r = client.get("/webcast/sign_url", params={"url": "https://example.com/webcast/"})
    assert r.status_code == 403 and r.json()["code"] == 403


@pytest.mark.parametrize(
    ("query", "status", "word"),
    [
        ("", 400, "url"),
        ("client=ttlive-node", 400, "url"),
        (urlencode({"url": API_URL}) + "&" + urlencode({"url": "https://www.tiktok.com/api/x/"}), 400, "repeats"),
        ("url=%ff", 400, "UTF-8"),
        ("url=a%00", 400, "NUL"),
        (urlencode({"url": API_URL}) + "&" + "&".join(f"p{i}=1" for i in range(40)), 400, "fields"),
        (urlencode({"url": API_URL, "userAgent": "a\r\nb"}), 400, "userAgent"),
        (urlencode({"url": API_URL, "userAgent": "M" * 1025}), 400, "userAgent"),
        ("url=not%20a%20url", 400, "URL"),
    ],
)
def test_get_sign_url_hostile_queries(client, query: str, status: int, word: str) -> None:
    r = client.get("/webcast/sign_url?" + query)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == status and len(body["message"]) >= 19 and word.lower() in body["message"].lower()
