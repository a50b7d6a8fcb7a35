"""Every malformed request gets a 4xx with a JSON `{code, message}` naming the problem; never a 5xx."""

from __future__ import annotations

import json

import pytest

GOOD = "https://www.tiktok.com/api/user/detail/?aid=1988"
J = {"content-type": "application/json"}
T = {"content-type": "text/plain"}
LONG_URL = GOOD + "&x=" + "a" * 9000
BIG_BODY = "b" * (70 * 1024)

# (id, method, path, headers, body bytes, expected status, a word the message must contain)
CASES = [
    ("sig-empty", "POST", "/signature", T, b"", 400, "empty"),
    ("sig-spaces", "POST", "/signature", T, b"   ", 400, "empty"),
    ("sig-not-url", "POST", "/signature", T, b"hello world", 400, "http"),
    ("sig-ftp", "POST", "/signature", T, b"ftp://www.tiktok.com/x", 400, "http"),
    ("sig-js", "POST", "/signature", T, b"javascript:alert(1)", 400, "http"),
    ("sig-no-host", "POST", "/signature", T, b"https:///api/x", 400, "host"),
    ("sig-other-host", "POST", "/signature", T, b"https://example.com/api/?a=1", 400, "TikTok host"),
    ("sig-lookalike", "POST", "/signature", T, b"https://tiktok.com.evil.io/api/", 400, "TikTok host"),
    ("sig-suffix-trick", "POST", "/signature", T, b"https://nottiktok.com/api/", 400, "TikTok host"),
    ("sig-bad-utf8", "POST", "/signature", T, b"https://www.tiktok.com/\xff\xfe", 400, "UTF-8"),
    ("sig-nul", "POST", "/signature", T, b"https://www.tiktok.com/api/\x00x", 400, "NUL"),
    ("sig-control", "POST", "/signature", T, b"https://www.tiktok.com/api/\x07x", 400, "control"),
    ("sig-too-long", "POST", "/signature", T, LONG_URL.encode(), 413, "longer"),
    ("sig-wrong-ct", "POST", "/signature", {"content-type": "image/png"}, GOOD.encode(), 415, "text/plain"),
    (
        "sig-multipart",
        "POST",
        "/signature",
        {"content-type": "multipart/form-data; boundary=x"},
        b"--x--",
        415,
        "text/plain",
    ),
    ("sig-json-no-url", "POST", "/signature", J, b"{}", 400, "url"),
    ("sig-bad-port", "POST", "/signature", T, b"https://www.tiktok.com:99999/api/", 400, "port"),
    ("sig-huge-body", "POST", "/signature", T, BIG_BODY.encode() * 2, 413, "larger"),
    ("sign-empty", "POST", "/sign", J, b"", 400, "empty"),
    ("sign-invalid-json", "POST", "/sign", J, b"{room_url:", 400, "JSON"),
    ("sign-array", "POST", "/sign", J, b"[1,2]", 400, "object"),
    ("sign-string", "POST", "/sign", J, b'"https://www.tiktok.com/"', 400, "object"),
    ("sign-null", "POST", "/sign", J, b"null", 400, "object"),
    ("sign-missing", "POST", "/sign", J, b'{"other": 1}', 400, "room_url"),
    ("sign-url-int", "POST", "/sign", J, b'{"room_url": 123}', 422, "room_url"),
    ("sign-url-list", "POST", "/sign", J, b'{"url": ["a"]}', 422, "url"),
    ("sign-url-obj", "POST", "/sign", J, b'{"url": {"a": 1}}', 422, "url"),
    ("sign-ua-int", "POST", "/sign", J, json.dumps({"url": GOOD, "user_agent": 5}).encode(), 422, "user_agent"),
    ("sign-ua-ctrl", "POST", "/sign", J, json.dumps({"url": GOOD, "user_agent": "a\nb"}).encode(), 400, "control"),
    ("sign-ua-long", "POST", "/sign", J, json.dumps({"url": GOOD, "user_agent": "a" * 2000}).encode(), 400, "1024"),
    ("sign-mstoken-int", "POST", "/sign", J, json.dumps({"url": GOOD, "ms_token": 1}).encode(), 422, "ms_token"),
    ("sign-wrong-ct", "POST", "/sign", T, b'{"url": "x"}', 415, "application/json"),
    ("sign-bad-utf8", "POST", "/sign", J, b'{"url": "\xff"}', 400, "UTF-8"),
    ("sign-nul-in-field", "POST", "/sign", J, b'{"url": "https://www.tiktok.com/\\u0000"}', 400, "NUL"),
    ("sign-deep-json", "POST", "/sign", J, b"[" * 100000 + b"]" * 100000, 413, "larger"),
    ("sign-nested-json", "POST", "/sign", J, b"[" * 5000 + b"]" * 5000, 400, "JSON"),
    ("v1-missing-url", "POST", "/v1/sign", J, b"{}", 400, "url"),
    ("v1-bad-method", "POST", "/v1/sign", J, json.dumps({"url": GOOD, "method": "FETCH"}).encode(), 400, "method"),
    ("v1-body-int", "POST", "/v1/sign", J, json.dumps({"url": GOOD, "body": 3}).encode(), 422, "body"),
    ("v1-body-big", "POST", "/v1/sign", J, json.dumps({"url": GOOD, "body": "x" * 66000}).encode(), 413, "longer"),
    ("v1-other-host", "POST", "/v1/sign", J, json.dumps({"url": "http://127.0.0.1/api/"}).encode(), 400, "TikTok host"),
    ("v1-decode-missing", "POST", "/v1/decode", J, b"{}", 400, "token"),
    ("v1-decode-int", "POST", "/v1/decode", J, b'{"token": 7}', 422, "token"),
    ("v1-decode-junk", "POST", "/v1/decode", J, b'{"token": "DFSz!!!"}', 400, "decode"),
    ("v1-decode-bad-xbogus", "POST", "/v1/decode", J, json.dumps({"token": "DFSz" + "A" * 24}).encode(), 400, "decode"),
    (
        "v1-decode-bad-gnarly",
        "POST",
        "/v1/decode",
        J,
        json.dumps({"token": "M" + "u" * 323 + "="}).encode(),
        400,
        "decode",
    ),
    ("v1-decode-huge", "POST", "/v1/decode", J, json.dumps({"token": "M" * 20000}).encode(), 413, "16384"),
    ("ttl-missing-url", "POST", "/webcast/sign_url", J, b'{"userAgent": "x"}', 400, "url"),
    ("ttl-url-null", "POST", "/webcast/sign_url", J, b'{"url": null}', 400, "url"),
    ("ttl-method-int", "POST", "/webcast/sign_url", J, json.dumps({"url": GOOD, "method": 1}).encode(), 422, "method"),
    (
        "ttl-payload-list",
        "POST",
        "/webcast/sign_url",
        J,
        json.dumps({"url": GOOD, "payload": []}).encode(),
        422,
        "payload",
    ),
    (
        "ttl-session-int",
        "POST",
        "/webcast/sign_url",
        J,
        json.dumps({"url": GOOD, "sessionId": 1}).encode(),
        422,
        "sessionId",
    ),
    ("node-invalid-json", "POST", "/tiktok/sign_url", J, b"{", 400, "JSON"),
    ("node-not-url", "POST", "/tiktok/sign_url", J, b'{"url": "nope"}', 400, "URL"),
    ("bad-content-length", "POST", "/signature", {**T, "content-length": "abc"}, GOOD.encode(), 400, "Content-Length"),
    ("get-on-post", "GET", "/sign", {}, b"", 405, "method"),
    ("unknown-route", "GET", "/does/not/exist", {}, b"", 404, "route"),
]


@pytest.mark.parametrize(
    ("case_id", "method", "path", "headers", "body", "status", "word"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input(client, case_id, method, path, headers, body, status, word):
    r = client.request(method, path, headers=headers, content=body)
    assert r.status_code == status, (case_id, r.status_code, r.text[:300])
    payload = r.json()
    assert payload["code"] == status
    assert isinstance(payload["message"], str) and len(payload["message"]) >= 19
    assert word.lower() in payload["message"].lower(), payload["message"]
