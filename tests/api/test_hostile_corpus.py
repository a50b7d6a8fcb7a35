"""A table-driven hostile corpus over every route of the app (issue 7): 0 5xx, 0 hangs, JSON errors only.

Every case goes over a real socket to a real uvicorn on 127.0.0.1, as bytes we write ourselves (so nothing
is normalised by a client library), with a per-request timeout. Each case names the exact status it must
get, always a 4xx, and the body must be the error shape `{"code": int, "message": str of >= 19 chars}`
(the connector crashes on shorter messages). The upstream TikTok bases point at a closed port on
127.0.0.1, so a case that wrongly got past validation fails fast as a 5xx instead of reaching anything.

Families: wrong methods (every route), content types, encodings (latin-1, UTF-16/32, bad and overlong
UTF-8, BOM), lone surrogates and NULs in every string field, wrong JSON types for every field, sizes
(empty, 1 MiB declared or chunked), nesting (10,000 deep), big integers, 1e400, NaN/Infinity, duplicate
JSON keys, hostile URLs (lookalike and IDN hosts, userinfo, backslashes, percent tricks, IPs, schemes),
path traversal and junk in path ids, CRLF and controls in values, duplicate and long query parameters,
unknown paths. `test_corpus_covers_every_route` checks the table reaches every route the app serves.

Protocol-level abuse (malformed request lines, raw CR/LF inside headers, bad Content-Length syntax) is
rejected by the HTTP parser before the app runs; it is covered by the transport's raw-socket tests.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.routing import Match, WebSocketRoute

from tests.api.conftest import make_settings
from ttsign.server.app import create_app

TIMEOUT_S = 5.0
MIB = 1024 * 1024
GOOD_API = "https://www.tiktok.com/api/user/detail/?aid=1988"
GOOD_WEBCAST = "https://webcast.tiktok.com/webcast/gift/list/?aid=1988"
ROOM = "7451234567890123456"


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    target: bytes | str
    status: int
    body: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    word: str = ""  # a word the message must contain (case-insensitive), when it matters
    chunked: bool = False
    xfail: str = ""  # why this case is expected to fail today (strict: it must start passing when fixed)
    extra: dict[str, Any] = field(default_factory=dict)


def _ct(value: str) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"content-type", value.encode("latin-1")),)


JSON = _ct("application/json")
TEXT = _ct("text/plain")
CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


# ---- the routes -----------------------------------------------------------------------------------
EULER_SIGN_URL = "/tiktok/signing/encrypt/sign_url"  # Euler's SDKs 0.5/0.6 (issue 10)
POST_JSON_ROUTES = ("/sign", "/v1/sign", "/v1/decode", "/webcast/sign_url", "/tiktok/sign_url", EULER_SIGN_URL)
POST_ROUTES = ("/signature", *POST_JSON_ROUTES)
GET_ROUTES = (
    "/health",
    "/livez",
    "/readyz",
    "/metrics",
    "/docs",
    "/redoc",
    "/docs/oauth2-redirect",
    "/openapi.json",
    "/webcast/rate_limits",
    f"/webcast/fetch?room_id={ROOM}",
    f"/webcast/fetch/?room_id={ROOM}",
    f"/webcast/rooms/{ROOM}/connect",
    "/webcast/anchors/someone/room_id",
    "/webcast/anchors/someone/connect",  # Euler's SDKs (issue 10)
    "/accounts/me/rate_limits",
    "/v1/rooms/someone",
    "/v1/providers",
)
# A valid document for each JSON route; cases break one field at a time.
VALID: dict[str, dict[str, Any]] = {
    "/sign": {"url": GOOD_API, "user_agent": "Mozilla/5.0", "ms_token": "abc"},
    "/v1/sign": {"url": GOOD_API, "method": "GET", "body": "", "user_agent": "Mozilla/5.0", "ms_token": "abc"},
    "/v1/decode": {"token": "DFSzswVOAAAAAAAAAAAAAAAAAAAA"},
    "/webcast/sign_url": {
        "url": GOOD_WEBCAST,
        "userAgent": "Mozilla/5.0",
        "method": "GET",
        "type": "xhr",
        "payload": "",
        "sessionId": "abc",
        "ttTargetIdc": "useast2a",
    },
    "/tiktok/sign_url": {
        "url": GOOD_WEBCAST,
        "userAgent": "Mozilla/5.0",
        "method": "GET",
        "type": "fetch",
        "payload": "",
        "sessionId": "abc",
        "ttTargetIdc": "useast2a",
    },
    EULER_SIGN_URL: {"url": GOOD_WEBCAST, "userAgent": "Mozilla/5.0", "ttwid": "1%7Cabc", "includeBrowserParams": True},
}
FIELDS: dict[str, tuple[str, ...]] = {
    "/sign": ("room_url", "url", "user_agent", "ms_token"),
    "/v1/sign": ("url", "method", "body", "user_agent", "ms_token"),
    "/v1/decode": ("token",),
    "/webcast/sign_url": ("url", "userAgent", "method", "type", "payload", "sessionId", "ttTargetIdc"),
    "/tiktok/sign_url": ("url", "userAgent", "method", "type", "payload", "sessionId", "ttTargetIdc"),
    EULER_SIGN_URL: ("url", "userAgent", "method", "type", "payload", "sessionId", "ttTargetIdc", "ttwid"),
}


def doc(route: str, **fields: Any) -> bytes:
    return json.dumps({**VALID[route], **fields}).encode()


def raw_doc(route: str, name: str, raw_value: str) -> bytes:
    """The valid document with one field's value replaced by raw JSON text (escapes kept as written)."""
    base = {k: v for k, v in VALID[route].items() if k != name}
    inner = json.dumps(base)[1:-1]
    return ("{" + (inner + ", " if inner else "") + f'"{name}": {raw_value}' + "}").encode()


# ---- 1. wrong methods on every route ------------------------------------------------------------------
for path in (*POST_ROUTES, "/webcast/sign_url/"):
    for m in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        if (m, path) != ("GET", "/webcast/sign_url"):  # tiktok-live-connector 1.x's GET (section 4b)
            add(Case(f"method-{m}-{path}", m, path, 405, word="method"))
for path in GET_ROUTES:
    for m in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        add(Case(f"method-{m}-{path}", m, path, 405, word="method"))

# ---- 2. content types ---------------------------------------------------------------------------------
for path in POST_JSON_ROUTES:
    body = doc(path)
    add(
        Case(f"ct-text-{path}", "POST", path, 415, body, TEXT, "application/json"),
        Case(f"ct-form-{path}", "POST", path, 415, body, _ct("application/x-www-form-urlencoded"), "application/json"),
        Case(
            f"ct-multipart-{path}", "POST", path, 415, body, _ct("multipart/form-data; boundary=x"), "application/json"
        ),
        Case(f"ct-xml-{path}", "POST", path, 415, body, _ct("application/xml"), "application/json"),
        Case(f"ct-text-json-{path}", "POST", path, 415, body, _ct("text/json"), "application/json"),
        Case(
            f"ct-latin1-charset-{path}", "POST", path, 415, body, _ct("application/json; charset=iso-8859-1"), "charset"
        ),
        Case(f"ct-utf16-charset-{path}", "POST", path, 415, body, _ct("application/json; charset=utf-16"), "charset"),
        Case(f"ct-utf7-charset-{path}", "POST", path, 415, body, _ct('application/json; charset="utf-7"'), "charset"),
        Case(f"ct-charset-ok-bad-body-{path}", "POST", path, 400, b"{", _ct("application/json; charset=UTF-8"), "JSON"),
        Case(f"ct-none-empty-{path}", "POST", path, 400, b"", (), "empty"),
        Case(f"ct-bom-{path}", "POST", path, 400, b"\xef\xbb\xbf" + body, JSON, "byte order mark"),
        Case(f"ct-garbage-{path}", "POST", path, 415, body, _ct("foo/bar;;==;charset"), "application/json"),
    )
add(
    Case("ct-image-/signature", "POST", "/signature", 415, GOOD_API.encode(), _ct("image/png"), "text/plain"),
    Case("ct-multipart-/signature", "POST", "/signature", 415, GOOD_API.encode(), _ct("multipart/form-data; b=x")),
    Case("ct-latin1-/signature", "POST", "/signature", 415, GOOD_API.encode(), _ct("text/plain; charset=latin-1")),
    Case("ct-utf16-/signature", "POST", "/signature", 415, GOOD_API.encode(), _ct("text/plain; charset=utf-16le")),
    Case("ct-bom-/signature", "POST", "/signature", 400, b"\xef\xbb\xbf" + GOOD_API.encode(), TEXT, "byte order mark"),
    Case("ct-json-bad-/signature", "POST", "/signature", 400, b"[1]", JSON, "object"),
)

# ---- 3. encodings -----------------------------------------------------------------------------------------
BAD_UTF8 = {
    "latin1": '{"url": "https://www.tiktok.com/api/?q=caf\xe9"}'.encode("latin-1"),
    "utf16le-bom": '{"url": "x"}'.encode("utf-16"),
    "utf16be": '{"url": "x"}'.encode("utf-16-be"),
    "utf32": '{"url": "x"}'.encode("utf-32"),
    "overlong-slash": b'{"url": "https://www.tiktok.com/api/\xc0\xaf"}',
    "overlong-nul": b'{"url": "https://www.tiktok.com/api/\xc0\x80"}',
    "encoded-surrogate": b'{"url": "https://www.tiktok.com/api/\xed\xa0\x80"}',
    "five-byte": b'{"url": "\xf8\x88\x80\x80\x80"}',
    "above-10ffff": b'{"url": "\xf4\x90\x80\x80"}',
    "truncated": b'{"url": "https://www.tiktok.com/\xe2\x82',
    "lone-continuation": b'{"url": "\x80"}',
}
for path in POST_ROUTES:
    for name, raw in BAD_UTF8.items():
        ct = TEXT if path == "/signature" else JSON
        word = "NUL" if name == "utf16be" else "UTF-8"
        add(Case(f"enc-{name}-{path}", "POST", path, 400, raw, ct, word))

# ---- 4. lone surrogates, NULs, controls and wrong types in every string field -----------------------
WRONG_TYPES = {"int": "1", "float": "1.5", "true": "true", "list": '["x"]', "object": '{"a": "b"}', "empty-list": "[]"}
for path, names in FIELDS.items():
    for name in names:
        for label, esc in (("high", '"\\ud800"'), ("low", '"x\\udfffy"'), ("reversed-pair", '"\\ude00\\ud83d"')):
            add(
                Case(f"surrogate-{label}-{name}-{path}", "POST", path, 400, raw_doc(path, name, esc), JSON, "surrogate")
            )
        add(Case(f"nul-{name}-{path}", "POST", path, 400, raw_doc(path, name, '"a\\u0000b"'), JSON, "NUL"))
        for label, raw_value in WRONG_TYPES.items():
            add(Case(f"type-{label}-{name}-{path}", "POST", path, 422, raw_doc(path, name, raw_value), JSON, name))
add(Case("surrogate-url-/signature-json", "POST", "/signature", 400, b'{"url": "\\ud800"}', JSON, "surrogate"))
add(Case("nul-raw-/signature", "POST", "/signature", 400, GOOD_API.encode() + b"\x00", TEXT, "NUL"))
add(Case("nul-raw-json", "POST", "/v1/sign", 400, doc("/v1/sign")[:-1] + b"\x00}", JSON, "NUL"))
for path in ("/sign", "/v1/sign"):
    for label, ua in (
        ("crlf", "Mozilla\r\nX-Injected: 1"),
        ("tab", "Mozilla\t5.0"),
        ("del", "Mozilla\x7f"),
        ("latin1", "Mozilla café"),
        ("emoji", "Mozilla 😀"),
        ("nbsp", "Mozilla\u00a05.0"),
        ("rtl", "Mozilla\u202e"),
        ("long", "M" * 1025),
    ):
        add(Case(f"ua-{label}-{path}", "POST", path, 400, doc(path, user_agent=ua), JSON, "user_agent"))
    for label, tok in (
        ("amp", "a&X-Bogus=1"),
        ("space", "a b"),
        ("crlf", "a\r\nb"),
        ("hash", "a#b"),
        ("long", "a" * 1025),
    ):
        add(Case(f"mstoken-{label}-{path}", "POST", path, 400, doc(path, ms_token=tok), JSON, "ms_token"))
for path in ("/webcast/sign_url", "/tiktok/sign_url", EULER_SIGN_URL):
    for label, ua in (("crlf", "a\r\nb"), ("latin1", "café"), ("long", "M" * 1025)):
        add(Case(f"ua-{label}-{path}", "POST", path, 400, doc(path, userAgent=ua), JSON, "userAgent"))
    add(Case(f"method-bad-{path}", "POST", path, 400, doc(path, method="FETCH"), JSON, "method"))
    add(Case(f"method-crlf-{path}", "POST", path, 400, doc(path, method="GET\r\nX: y"), JSON, "method"))
    add(Case(f"payload-big-{path}", "POST", path, 413, doc(path, method="POST", payload="x" * 66000), JSON, "payload"))
add(Case("v1-body-big", "POST", "/v1/sign", 413, doc("/v1/sign", method="POST", body="x" * 66000), JSON, "body"))
add(Case("v1-method-bad", "POST", "/v1/sign", 400, doc("/v1/sign", method="BREW"), JSON, "method"))
add(Case("decode-junk", "POST", "/v1/decode", 400, doc("/v1/decode", token="\u00e9" * 10), JSON, "decode"))
add(Case("decode-huge", "POST", "/v1/decode", 413, doc("/v1/decode", token="M" * 20000), JSON, "16384"))

# ---- 4b. TikTokLive 6.6's form body (POST /webcast/sign_url/) and connector 1.x's GET query (issue 10) -----
FORM = _ct("application/x-www-form-urlencoded")
FORM_LATIN1 = _ct("application/x-www-form-urlencoded; charset=latin-1")
GOOD_FORM = "url=" + GOOD_WEBCAST.replace(":", "%3A").replace("/", "%2F").replace("?", "%3F").replace("=", "%3D")
for label, raw, status, word in (
    ("dup-url", GOOD_FORM + "&" + GOOD_FORM, 400, "repeats"),
    ("no-equals", GOOD_FORM + "&junk", 400, "name=value"),
    ("empty-pair", GOOD_FORM + "&&method=GET", 400, "name=value"),
    ("no-name", GOOD_FORM + "&=x", 400, "no name"),
    ("pct-not-utf8", GOOD_FORM + "&userAgent=%ff%fe", 400, "UTF-8"),
    ("pct-surrogate", GOOD_FORM + "&payload=%ed%a0%80", 400, "UTF-8"),
    ("pct-nul", GOOD_FORM + "%00", 400, "NUL"),
    ("too-many", GOOD_FORM + "".join(f"&f{i}=1" for i in range(40)), 400, "fields"),
    ("missing-url", "userAgent=Mozilla", 400, "url"),
    ("bool-as-text", GOOD_FORM + "&includeBrowserParams=true", 422, "boolean"),
    ("ua-crlf", GOOD_FORM + "&userAgent=a%0d%0ab", 400, "userAgent"),
    ("method-bad", GOOD_FORM + "&method=BREW", 400, "method"),
):
    add(Case(f"form-{label}", "POST", "/webcast/sign_url/", status, raw.encode(), FORM, word))
add(
    Case("form-raw-latin1", "POST", "/webcast/sign_url/", 400, b"url=caf\xe9", FORM, "UTF-8"),
    Case("form-empty", "POST", "/webcast/sign_url/", 400, b"", FORM, "empty"),
    Case("form-latin1-charset", "POST", "/webcast/sign_url/", 415, b"url=x", FORM_LATIN1, "charset"),
    Case("form-text-plain", "POST", "/webcast/sign_url/", 415, GOOD_FORM.encode(), TEXT, "x-www-form-urlencoded"),
    Case("form-1mib", "POST", "/webcast/sign_url/", 413, b"url=" + b"x" * MIB, FORM, "larger"),
    Case("form-json-dup", "POST", "/webcast/sign_url/", 400, b'{"url": "a", "url": "b"}', JSON, "repeats"),
)
GET_SIGN = "/webcast/sign_url?"
for label, query, status, word in (
    ("none", "", 400, "url"),
    ("dup-url", GOOD_FORM + "&" + GOOD_FORM, 400, "repeats"),
    ("pct-not-utf8", "url=%ff", 400, "UTF-8"),
    ("nul", "url=a%00b", 400, "NUL"),
    ("no-equals", GOOD_FORM + "&client", 400, "name=value"),
    ("too-many", GOOD_FORM + "".join(f"&p{i}=1" for i in range(40)), 400, "fields"),
    ("ua-crlf", GOOD_FORM + "&userAgent=a%0d%0ab", 400, "userAgent"),
    ("foreign-host", "url=https%3A%2F%2Fexample.com%2Fwebcast%2F", 403, "host"),
    ("not-a-url", "url=nothing", 400, "URL"),
):
    add(Case(f"get-sign-url-{label}", "GET", GET_SIGN + query, status, word=word))

# ---- 5. sizes ------------------------------------------------------------------------------------------
BIG = b"x" * MIB
for path in POST_ROUTES:
    ct = TEXT if path == "/signature" else JSON
    add(
        Case(f"size-empty-{path}", "POST", path, 400, b"", ct, "empty"),
        Case(f"size-spaces-{path}", "POST", path, 400, b" \t\r\n ", ct, "empty"),
        Case(f"size-1mib-declared-{path}", "POST", path, 413, BIG, ct, "larger"),
        Case(f"size-1mib-chunked-{path}", "POST", path, 413, BIG, ct, "larger", chunked=True),
    )
for path in GET_ROUTES:
    add(Case(f"size-1mib-body-on-get-{path}", "GET", path, 413, BIG, JSON, "larger"))

# ---- 6. JSON structure: nesting, numbers, literals, duplicates --------------------------------------
DEEP_ARRAY = b"[" * 10000 + b"]" * 10000
DEEP_OBJECT = b'{"a":' * 10000 + b"1" + b"}" * 10000
BIG_INT = "9" * 5000
for path in POST_JSON_ROUTES:
    first = FIELDS[path][0]
    add(
        Case(f"json-deep-array-{path}", "POST", path, 400, DEEP_ARRAY, JSON, "deeply"),
        Case(f"json-deep-object-{path}", "POST", path, 400, DEEP_OBJECT, JSON, "deeply"),
        Case(
            f"json-deep-in-field-{path}", "POST", path, 400, raw_doc(path, first, DEEP_ARRAY.decode()), JSON, "deeply"
        ),
        Case(f"json-bigint-field-{path}", "POST", path, 400, raw_doc(path, first, BIG_INT), JSON, "digits"),
        Case(f"json-bigint-extra-{path}", "POST", path, 400, raw_doc(path, "extra", BIG_INT), JSON, "digits"),
        Case(f"json-neg-bigint-{path}", "POST", path, 400, raw_doc(path, "extra", "-" + BIG_INT), JSON, "digits"),
        Case(f"json-1e400-{path}", "POST", path, 400, raw_doc(path, "extra", "1e400"), JSON, "range"),
        Case(f"json-neg-1e400-{path}", "POST", path, 400, raw_doc(path, first, "-1e400"), JSON, "range"),
        Case(f"json-nan-{path}", "POST", path, 400, raw_doc(path, "extra", "NaN"), JSON, "NaN"),
        Case(f"json-infinity-{path}", "POST", path, 400, raw_doc(path, first, "Infinity"), JSON, "Infinity"),
        Case(f"json-neg-infinity-{path}", "POST", path, 400, raw_doc(path, "extra", "-Infinity"), JSON, "Infinity"),
        Case(
            f"json-dup-key-{path}",
            "POST",
            path,
            400,
            raw_doc(path, first, '"x", "' + first + '": "y"'),
            JSON,
            "repeats",
        ),
        Case(f"json-dup-nested-{path}", "POST", path, 400, raw_doc(path, "extra", '{"a": 1, "a": 2}'), JSON, "repeats"),
        Case(f"json-array-top-{path}", "POST", path, 400, b"[" + doc(path) + b"]", JSON, "object"),
        Case(f"json-string-top-{path}", "POST", path, 400, b'"' + GOOD_API.encode() + b'"', JSON, "object"),
        Case(f"json-null-top-{path}", "POST", path, 400, b"null", JSON, "object"),
        Case(f"json-trailing-garbage-{path}", "POST", path, 400, doc(path) + b"}", JSON, "JSON"),
        Case(f"json-two-docs-{path}", "POST", path, 400, doc(path) + doc(path), JSON, "JSON"),
        Case(f"json-single-quotes-{path}", "POST", path, 400, f"{{'{first}': 'x'}}".encode(), JSON, "JSON"),
        Case(f"json-comment-{path}", "POST", path, 400, b"/* c */" + doc(path), JSON, "JSON"),
        Case(f"json-bad-escape-{path}", "POST", path, 400, raw_doc(path, first, '"\\x41"'), JSON, "JSON"),
        Case(f"json-raw-newline-{path}", "POST", path, 400, raw_doc(path, first, '"a\nb"'), JSON, "JSON"),
    )

# ---- 7. hostile URLs ---------------------------------------------------------------------------------
HOSTILE_URLS = {
    "lookalike-suffix": "https://tiktok.com.evil.io/api/user/detail/?aid=1988",
    "lookalike-prefix": "https://nottiktok.com/api/",
    "lookalike-hyphen": "https://www-tiktok.com/api/",
    "other-tld": "https://www.tiktok.co/api/",
    "userinfo-host": "https://www.tiktok.com@evil.com/api/",
    "userinfo-creds": "https://user:pass@www.tiktok.com/api/",
    "userinfo-empty": "https://@www.tiktok.com/api/",
    "backslash-host": "https://evil.com\\.tiktok.com/api/",
    "backslash-scheme": "https:\\\\evil.com\\www.tiktok.com/",
    "backslash-at": "https://www.tiktok.com\\@evil.com/",
    "idn-kra": "https://www.tikto\u0138.com/api/",
    "idn-cyrillic": "https://www.t\u0456ktok.com/api/",
    "idn-punycode": "https://xn--tktok-5va.com/api/",
    "ideographic-dot": "https://www.tiktok.com\u3002evil.com/api/",
    "fullwidth-dot": "https://evil.com\uff0etiktok.com/api/",
    "soft-hyphen": "https://evil\u00ad.com/api/",
    "pct-host-dot": "https://tiktok.com%2eevil.com/api/",
    "pct-host-slash": "https://evil.com%2f.tiktok.com/api/",
    "pct-host-nul": "https://www.tiktok.com%00.evil.com/api/",
    "pct-host-at": "https://evil.com%40www.tiktok.com/api/",
    "semicolon-host": "https://evil.com;.tiktok.com/api/",
    "space-host": "https://evil.com .tiktok.com/api/",
    "tab-in-host": "https://www.tik\ttok.com/api/",
    "crlf-in-url": "https://www.tiktok.com/api/?a=1\r\nHost: evil.com",
    "loopback": "http://127.0.0.1/api/",
    "loopback-int": "http://2130706433/api/",
    "loopback-hex": "http://0x7f.1/api/",
    "loopback-v6": "http://[::1]/api/",
    "mapped-v6": "http://[::ffff:127.0.0.1]/api/",
    "localhost": "http://localhost:8080/api/",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "file": "file:///etc/passwd",
    "javascript": "javascript:alert(1)//www.tiktok.com",
    "data": "data:text/html,<script>alert(1)</script>",
    "gopher": "gopher://www.tiktok.com/_GET",
    "ws": "ws://www.tiktok.com/api/",
    "scheme-relative": "//www.tiktok.com/api/",
    "no-scheme": "www.tiktok.com/api/",
    "scheme-one-slash": "https:/www.tiktok.com/api/",
    "scheme-three-slashes": "https:///www.tiktok.com/api/",
    "empty-port": "https://www.tiktok.com:/api/",
    "port-too-big": "https://www.tiktok.com:99999/api/",
    "port-letters": "https://www.tiktok.com:abc/api/",
    "bad-percent": "https://www.tiktok.com/api/?q=100%",
    "bad-percent-hex": "https://www.tiktok.com/api/?q=%zz",
    "overlong-percent": "https://www.tiktok.com/api/?q=%C0%80",
    "double-dot-label": "https://www..tiktok.com/api/",
    "underscore-host": "https://a_b.tiktok.com/api/",
    "label-too-long": "https://" + "a" * 64 + ".tiktok.com/api/",
    "url-too-long": GOOD_API + "&x=" + "a" * 9000,
    "only-spaces": "   ",
}
URL_ROUTES = {"/sign": "url", "/v1/sign": "url", "/tiktok/sign_url": "url"}
# URLs that parse but name a host we do not sign: the connector's route answers those 403 (its
# PremiumFeatureError, routes/sign_url.py); a URL that does not parse is a 400 everywhere.
DENIED_HOSTS = {
    "lookalike-suffix",
    "lookalike-prefix",
    "lookalike-hyphen",
    "other-tld",
    "idn-punycode",
    "loopback",
    "loopback-v6",
    "localhost",
    "metadata",
}
for label, url in HOSTILE_URLS.items():
    status = 413 if label == "url-too-long" else 400
    word = {"url-too-long": "longer", "only-spaces": "empty"}.get(label, "TikTok host" if label in DENIED_HOSTS else "")
    for path, name in URL_ROUTES.items():
        expect = 403 if path == "/tiktok/sign_url" and label in DENIED_HOSTS else status
        add(Case(f"url-{label}-{path}", "POST", path, expect, doc(path, **{name: url}), JSON, word))
    add(Case(f"url-{label}-/signature", "POST", "/signature", status, url.encode(), TEXT, word))


# ---- 8. path ids and query parameters on the connect and room routes --------------------------------
BAD_ROOM_IDS = {
    "traversal": "..%2F..%2Fetc",
    "dotdot": "..",
    "pct-dotdot": "%2e%2e",
    "nul": "%00",
    "trailing-nul": f"{ROOM}%00",
    "trailing-lf": f"{ROOM}%0A",
    "trailing-crlf": f"{ROOM}%0D%0A",
    "trailing-space": f"{ROOM}%20",
    "leading-plus": f"%2B{ROOM}",
    "negative": "-1",
    "exponent": "1e5",
    "hex": "0x1F",
    "fullwidth-digits": "%EF%BC%91%EF%BC%92%EF%BC%93",
    "arabic-digits": "%D9%A1%D9%A2%D9%A3",
    "too-long": "9" * 30,
    "semicolon": f"{ROOM};x",
    "double-encoded": "%252e%252e",
    "letters": "abc",
    "latin1-byte": "%E9",
}
for label, rid in BAD_ROOM_IDS.items():
    add(Case(f"room-path-{label}", "GET", f"/webcast/rooms/{rid}/connect", 400, word="room_id"))
    add(Case(f"room-query-{label}", "GET", f"/webcast/fetch?room_id={rid}", 400, word="room_id"))
BAD_USERS = {
    "traversal": "..%2F..%2Fetc",
    "nul": "a%00b",
    "trailing-lf": "someone%0A",
    "space": "some%20one",
    "quote": "some%22one",
    "angle": "%3Cscript%3E",
    "too-long": "a" * 100,
    "unicode": "%E2%80%AEuser",
    "crlf": "a%0D%0ASet-Cookie:x",
    "semicolon": "a;b",
    "percent": "a%25b",
    "backslash": "a%5Cb",
    "url-elsewhere": "https%3A%2F%2Fevil.com%2F%40x",
}
for label, uid in BAD_USERS.items():
    add(Case(f"anchor-{label}", "GET", f"/webcast/anchors/{uid}/room_id", 400, word="username"))
    add(Case(f"v1-rooms-{label}", "GET", f"/v1/rooms/{uid}", 400, word="username"))
    add(Case(f"anchor-connect-{label}", "GET", f"/webcast/anchors/{uid}/connect", 400, word="username"))
    add(Case(f"relay-events-{label}", "GET", f"/v1/rooms/{uid}/events", 400, word="username"))
add(Case("room-path-empty", "GET", "/webcast/rooms//connect", 400, word="room_id"))
add(Case("v1-rooms-empty", "GET", "/v1/rooms/", 400, word="username"))
add(Case("relay-events-POST", "POST", "/v1/rooms/someone/events", 405, b"{}", JSON, "method"))
for label, query, word in (
    ("raw-junk", "raw=maybe", "raw"),
    ("after-negative", "after=-1", "after"),
    ("limit-0", "limit=0", "limit"),
):
    add(Case(f"relay-events-{label}", "GET", f"/v1/rooms/someone/events?{query}", 400, word=word))
# issue 12: the OBS overlay and room tokens
for label in ("nul", "space", "quote", "angle", "too-long", "unicode", "crlf", "semicolon", "percent", "backslash"):
    add(Case(f"overlay-{label}", "GET", f"/overlay/{BAD_USERS[label]}", 400, word="username"))
add(Case("overlay-POST", "POST", "/overlay/someone", 405, b"{}", JSON, "method"))
add(Case("overlay-forged-token", "GET", "/overlay/someone?token=tt1.e30.AAAA", 401, word="token"))
add(Case("overlay-malformed-token", "GET", "/overlay/someone?token=%00%FF", 401, word="token"))
add(Case("tokens-GET", "GET", "/v1/tokens", 405, word="method"))
for label, body, status, word in (
    ("no-room", b'{"ttl": 60}', 400, "room"),
    ("bad-room", b'{"room": "a b"}', 400, "username"),
    ("ttl-huge", b'{"room": "someone", "ttl": 99999999}', 422, "ttl"),
    ("ttl-zero", b'{"room": "someone", "ttl": 0}', 422, "ttl"),
    ("ttl-string", b'{"room": "someone", "ttl": "60"}', 422, "ttl"),
    ("room-number", b'{"room": 5}', 422, "room"),
    ("dup-room", b'{"room": "a", "room": "b"}', 400, "room"),
    ("array", b"[]", 400, ""),
):
    add(Case(f"tokens-{label}", "POST", "/v1/tokens", status, body, JSON, word))
CONNECT_PATHS = (f"/webcast/fetch?room_id={ROOM}&", f"/webcast/rooms/{ROOM}/connect?")
for i, base in enumerate(CONNECT_PATHS):
    for label, query, word in (
        ("platform-mobile", "platform=mobile", "platform"),
        ("platform-dup", "platform=web&platform=mobile", "platform"),
        ("platform-junk", "platform=%00", "platform"),
        ("ua-crlf", "user_agent=Mozilla%0D%0AX-Injected:%201", "user_agent"),
        ("ua-latin1", "user_agent=caf%C3%A9", "user_agent"),
        ("ua-bad-utf8", "user_agent=%FF%FE", "user_agent"),
        ("ua-long", "user_agent=" + "M" * 1100, "user_agent"),
        ("cursor-long", "cursor=" + "c" * 600, "cursor"),
        ("long-query", "cursor=" + "c" * 6000 + "&x=" + "y" * 2000, "cursor"),
    ):
        add(Case(f"connect-{i}-{label}", "GET", base + query, 400, word=word))
add(Case("fetch-dup-room-both-bad", "GET", "/webcast/fetch?room_id=abc&room_id=def", 400, word="room_id"))
add(Case("fetch-dup-room-last-bad", "GET", f"/webcast/fetch?room_id={ROOM}&room_id=x", 400, word="room_id"))
add(Case("fetch-no-room", "GET", "/webcast/fetch", 400, word="room_id"))
# the caller's own session (issue 10): strict cookie syntax, TikTok's session cookies only, no OAuth token
SESSION_CONNECT = f"/webcast/rooms/{ROOM}/connect"
for label, value, word in (
    ("no-equals", b"sessionid", "cookie"),
    ("quoted", b'sessionid="abc123"', "cookie"),
    ("no-login", b"ttwid=abc123; tt-target-idc=useast1a", "login"),
    ("twice", b"sessionid=abc123; sessionid=def456", "twice"),
    ("huge", b"sessionid=" + b"a" * 5000, "longer"),
    ("latin1", b"sessionid=caf\xe9", "non-ascii"),
):
    add(Case(f"session-header-{label}", "GET", SESSION_CONNECT, 400, headers=((b"x-cookie-header", value),), word=word))
OAUTH = ((b"x-oauth-token", b"euler-oauth-token"),)
add(Case("session-oauth", "GET", "/webcast/anchors/someone/connect", 400, headers=OAUTH, word="x-oauth-token"))
for label, query in (("crlf", "abc%0D%0ASet-Cookie:x"), ("semicolon", "abc%3B+ttwid%3Dx"), ("nul", "a%00b")):
    target = f"/webcast/fetch?room_id={ROOM}&session_id={query}"
    add(Case(f"session-query-{label}", "GET", target, 400, word="session_id"))
add(Case("fetch-empty-room", "GET", "/webcast/fetch?room_id=", 400, word="room_id"))

# ---- 9. unknown paths ---------------------------------------------------------------------------------
for target in (
    "/api",
    "/v2/sign",
    "/v1",
    "/webcast/",
    "/.env",
    "/.git/config",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/docs/../openapi.json",
    "/health%00",
    "/health/..%2F",
    "/SIGN",
    "/sign%0d%0aX-Injected:%201",
    "/" + "a" * 4000,
    "/%FF%FE",
    "/%C3%A9",
):
    add(Case(f"unknown-GET-{target[:40]}", "GET", target, 404, word="route"))
    add(Case(f"unknown-POST-{target[:40]}", "POST", target, 404, b"{}", JSON, "route"))
add(Case("landing-POST", "POST", "/", 405, b"{}", JSON, "method"))  # `/` is the landing page (GET only)
add(Case("docs-asset-unknown", "GET", "/docs/assets/nope.js", 404, word="route"))
add(Case("docs-asset-traversal", "GET", "/docs/assets/%2e%2e/core.py", 404, word="route"))
add(Case("status-POST", "POST", "/status", 405, b"{}", JSON, "method"))  # the status page is GET only
add(Case("status-DELETE", "DELETE", "/status", 405, word="method"))
# the admin routes with no TTSIGN_ADMIN_KEYS: 403 whatever is sent, the body never read
ADMIN_GUESS = ((b"content-type", b"application/json"), (b"x-admin-key", b"guess-0123456789"))
add(Case("admin-off-GET", "GET", "/v1/admin/maintenance", 403, word="TTSIGN_ADMIN_KEYS"))
add(Case("admin-off-POST", "POST", "/v1/admin/maintenance", 403, b'{"enabled": true}', JSON, "TTSIGN_ADMIN_KEYS"))
add(Case("admin-off-guess", "POST", "/v1/admin/maintenance", 403, b"[" * 5000, ADMIN_GUESS, "TTSIGN_ADMIN_KEYS"))
add(Case("admin-DELETE", "DELETE", "/v1/admin/maintenance", 405, word="method"))
add(Case("admin-unknown", "GET", "/v1/admin/nope", 404, word="route"))


# ---- the server and the raw client --------------------------------------------------------------------
def _closed_port_base() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _app() -> Any:
    base = _closed_port_base()
    return create_app(
        make_settings(
            rate_limit_minute=0,
            rate_limit_hour=0,
            rate_limit_day=0,
            auth_failures_per_minute=0,
            body_timeout_s=3.0,
            upstream_timeout_s=1.0,
            tiktok_www=base,
            ttwid_url=f"{base}/ttwid/union/register/",
            webcast_url=f"{base}/webcast",
            ws_url=base.replace("http", "ws") + "/webcast/im/ws_proxy/ws_reuse_supplement/",
        )
    )


APP = _app()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(APP, log_level="critical", lifespan="off", http="httptools"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.started, "uvicorn did not start"
    yield sock.getsockname()[:2]
    srv.should_exit = True
    thread.join(10)
    sock.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float


def _target_bytes(target: bytes | str) -> bytes:
    return target if isinstance(target, bytes) else target.encode("latin-1")


def send_raw(addr: tuple[str, int], case: Case) -> Answer:
    """Write the request exactly as the case says; read one response (Content-Length or chunked)."""
    head = [f"{case.method} ".encode() + _target_bytes(case.target) + b" HTTP/1.1", b"Host: 127.0.0.1"]
    head += [k + b": " + v for k, v in case.headers]
    if case.chunked:
        head.append(b"Transfer-Encoding: chunked")
        step = 65536
        payload = (
            b"".join(
                b"%x\r\n" % len(case.body[i : i + step]) + case.body[i : i + step] + b"\r\n"
                for i in range(0, len(case.body), step)
            )
            + b"0\r\n\r\n"
        )
    else:
        if case.body or case.method in ("POST", "PUT", "PATCH"):
            head.append(b"Content-Length: " + str(len(case.body)).encode())
        payload = case.body
    data = b"\r\n".join(head) + b"\r\n\r\n" + payload
    started = time.monotonic()
    sock = socket.create_connection(addr, timeout=TIMEOUT_S)
    sender = threading.Thread(target=_send_all, args=(sock, data), daemon=True)
    sender.start()
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += _recv(sock, buf)
        raw_head, _, rest = buf.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            need = int(headers["content-length"])
            while len(rest) < need:
                rest += _recv(sock, rest)
            body = rest[:need]
        elif headers.get("transfer-encoding") == "chunked":
            while not rest.endswith(b"0\r\n\r\n"):
                rest += _recv(sock, rest)
            body, pos = b"", 0
            while True:
                eol = rest.index(b"\r\n", pos)
                size = int(rest[pos:eol], 16)
                if size == 0:
                    break
                body += rest[eol + 2 : eol + 2 + size]
                pos = eol + 4 + size
        else:
            while chunk := sock.recv(65536):
                rest += chunk
            body = rest
        return Answer(status, headers, body, time.monotonic() - started)
    finally:
        sock.close()


def _send_all(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:  # the server answered and closed before reading it all: fine
        pass


def _recv(sock: socket.socket, so_far: bytes) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError(f"connection closed after {len(so_far)} bytes: {so_far[:200]!r}")
    return chunk


# ---- the tests ---------------------------------------------------------------------------------------
def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_case(server, case: Case) -> None:
    try:
        answer = send_raw(server, case)
    except TimeoutError:
        pytest.fail(f"hang: no answer within {TIMEOUT_S} s")
    assert answer.status < 500, (answer.status, answer.body[:300])
    assert answer.status == case.status, (answer.status, answer.body[:300])
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    payload = json.loads(answer.body)
    assert isinstance(payload, dict) and type(payload.get("code")) is int, payload
    assert payload["code"] == case.status, payload
    assert isinstance(payload.get("message"), str) and len(payload["message"]) >= 19, payload
    if case.word:
        assert case.word.lower() in payload["message"].lower(), payload["message"]
    assert answer.elapsed < TIMEOUT_S


def _served_routes() -> list[Any]:
    """Every HTTP route the app serves, with included routers flattened (FastAPI wraps them). WebSocket routes
    take no HTTP request (an HTTP GET on their path is a 404): tests/relay covers them."""
    flat = []
    for route in APP.routes:
        inner = getattr(route, "original_router", None)
        flat += list(inner.routes) if inner is not None else [route]
    return [r for r in flat if not isinstance(r, WebSocketRoute)]


def test_corpus_is_big_and_covers_every_route() -> None:
    assert len(CASES) >= 300, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    assert all(400 <= c.status < 500 for c in CASES)
    hit: set[str] = set()
    for case in CASES:
        path = _target_bytes(case.target).decode("latin-1").split("?", 1)[0]
        scope = {"type": "http", "path": path, "method": case.method, "root_path": ""}
        for route in _served_routes():
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                hit.add(route.path)
    served = {r.path for r in _served_routes()}
    assert {"/signature", "/v1/rooms/{unique_id}", "/webcast/rooms/{room_id}/connect", "/docs"} <= served
    assert served - hit == set(), sorted(served - hit)
    assert any(c.status == 404 for c in CASES)  # unknown paths too


def test_the_server_answers_valid_requests_so_the_4xx_are_not_an_accident(server) -> None:
    ok = [
        Case("ok-signature", "POST", "/signature", 200, GOOD_API.encode(), TEXT),
        Case("ok-sign", "POST", "/sign", 200, doc("/sign"), JSON),
        Case("ok-v1", "POST", "/v1/sign", 200, doc("/v1/sign"), _ct("application/json; charset=utf-8")),
        Case("ok-health", "GET", "/health", 200),
    ]
    for case in ok:
        assert send_raw(server, case).status == 200, case.id
