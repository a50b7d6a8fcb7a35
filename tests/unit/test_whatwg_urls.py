"""URLs read, signed and sent the way a browser does (issue 7, defect 7; policy.py module docstring).

* ``HOSTILE``: lookalike and IDN hosts, userinfo, backslashes, percent tricks, IP number forms, IPv6,
  ports, other schemes, whitespace, very long: accepted or refused, and the host a browser reads.
* ``tests/vectors/urls.json`` (TikTok's SDK in Chromium, ``tests/oracle/make_url_vectors.py``): our
  ``parse_url`` + ``Signer`` give the signed string and the sent URL byte for byte; our host reading is
  Chrome's for every hostile input.
* hypothesis: for random URL strings our host is ada_url's host, and every URL we emit is a fixed point
  of ada_url's href serialization.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import ada_url
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ttsign.signing.policy import ParsedURL, PolicyError, Product, host_allowed, parse_url
from ttsign.signing.signer import Signer, SignerOptions
from ttsign.vectors import check_vector

SUFFIXES = ("tiktok.com", "tiktokv.com", "tiktokcdn.com")
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "urls.json"
TRIM = " \t\n\r\f"
TOKEN_PARAMS = {"X-Bogus", "X-Gnarly", "X-Dynosaur", "_signature", "msToken"}
LONG_LABEL = "a" * 64
LONG_QUERY = "&".join(f"k{i}=v{i}" for i in range(3000))

# (id, url, decision, host a browser reads). decision: "accept"; "policy" (parse_url refuses it: the
# browser reads it differently from its text, or cannot); "host" (parses, but not a TikTok host).
# host: ada_url's host for the input (hostname[:port]), None where the browser itself refuses the URL.
HOSTILE: list[tuple[str, str, str, str | None]] = [
    # the defect and its relatives: backslashes
    ("backslash-authority", "https://evil.com\\.tiktok.com/", "policy", "evil.com"),
    ("backslash-before-at", "https://www.tiktok.com\\@evil.com/", "policy", "www.tiktok.com"),
    ("backslash-scheme", "https:\\\\www.tiktok.com\\api\\", "policy", "www.tiktok.com"),
    ("slash-backslash", "https:/\\www.tiktok.com/", "policy", "www.tiktok.com"),
    ("backslash-path", "https://www.tiktok.com/api\\..\\x", "policy", "www.tiktok.com"),
    ("backslash-encoded-host", "https://evil.com%5C.tiktok.com/", "policy", None),
    # scheme and slashes a browser repairs
    ("no-slashes", "https:www.tiktok.com/api/x/", "policy", "www.tiktok.com"),
    ("one-slash", "https:/www.tiktok.com/api/x/", "policy", "www.tiktok.com"),
    ("three-slashes", "https:///www.tiktok.com/api/x/", "policy", "www.tiktok.com"),
    ("scheme-relative", "//www.tiktok.com/api/x/", "policy", None),
    ("javascript", "javascript:alert(1)//www.tiktok.com/", "policy", ""),
    ("javascript-mixed-case", "JaVaScRiPt:alert(document.domain)", "policy", ""),
    ("data", "data:text/html,<script>alert(1)</script>", "policy", ""),
    ("file", "file:///etc/passwd", "policy", ""),
    ("ftp", "ftp://www.tiktok.com/", "policy", "www.tiktok.com"),
    ("ws", "ws://webcast.tiktok.com/webcast/im/push/", "policy", "webcast.tiktok.com"),
    # userinfo
    ("userinfo", "https://user:pw@www.tiktok.com/api/x/", "policy", "www.tiktok.com"),
    ("userinfo-evil-first", "https://evil.com@www.tiktok.com/", "policy", "www.tiktok.com"),
    ("userinfo-tiktok-first", "https://www.tiktok.com@evil.com/", "policy", "evil.com"),
    ("userinfo-empty", "https://@www.tiktok.com/", "policy", "www.tiktok.com"),
    ("userinfo-port-lookalike", "https://www.tiktok.com:443@evil.com/", "policy", "evil.com"),
    ("userinfo-colon", "https://www.tiktok.com:@evil.com/", "policy", "evil.com"),
    # percent tricks in the host
    ("percent-dot", "https://www%2Etiktok%2Ecom/", "policy", "www.tiktok.com"),
    ("percent-suffix-swap", "https://www.tiktok.com%2eevil.com/", "policy", "www.tiktok.com.evil.com"),
    ("percent-slash", "https://evil.com%2F.tiktok.com/", "policy", None),
    ("percent-letter", "https://www.tikt%6Fk.com/", "policy", "www.tiktok.com"),
    # IDN and lookalikes
    ("fullwidth", "https://ｗｗｗ.ｔｉｋｔｏｋ.ｃｏｍ/", "policy", "www.tiktok.com"),
    ("ideographic-full-stop", "https://www.tiktok\u3002com/", "policy", "www.tiktok.com"),
    ("soft-hyphen", "https://www.tik\u00adtok.com/", "policy", "www.tiktok.com"),
    ("cyrillic-i", "https://www.t\u0456ktok.com/", "policy", "www.xn--tktok-n2e.com"),
    ("cyrillic-label-under-tiktok", "https://\u0430pple.tiktok.com/", "policy", "xn--pple-43d.tiktok.com"),
    ("fullwidth-solidus", "https://www.tiktok.com\uff0fevil.com/", "policy", None),
    ("fullwidth-number-sign", "https://evil.com\uff03.tiktok.com/", "policy", None),
    ("punycode-lookalike", "https://www.xn--tktok-n2e.com/", "host", "www.xn--tktok-n2e.com"),
    ("punycode-under-tiktok", "https://xn--pple-43d.tiktok.com/", "accept", "xn--pple-43d.tiktok.com"),
    ("uppercase-punycode", "https://XN--PPLE-43D.tiktok.com/", "accept", "xn--pple-43d.tiktok.com"),
    # other lookalike suffixes and delimiters
    ("suffix-prefix", "https://tiktok.com.evil.com/", "host", "tiktok.com.evil.com"),
    ("suffix-glued", "https://nottiktok.com/", "host", "nottiktok.com"),
    ("slash-then-suffix", "https://evil.com/.tiktok.com/", "host", "evil.com"),
    ("query-then-suffix", "https://evil.com?.tiktok.com", "host", "evil.com"),
    ("hash-then-suffix", "https://evil.com#.tiktok.com", "host", "evil.com"),
    ("semicolon-in-host", "https://evil.com;.tiktok.com/", "policy", "evil.com;.tiktok.com"),
    ("underscore-in-host", "https://a_b.tiktok.com/", "policy", "a_b.tiktok.com"),
    ("empty-label", "https://www..tiktok.com/", "policy", "www..tiktok.com"),
    ("leading-dot", "https://.tiktok.com/", "policy", ".tiktok.com"),
    ("trailing-dot", "https://www.tiktok.com./api/x/", "policy", "www.tiktok.com."),
    ("long-label", f"https://{LONG_LABEL}.tiktok.com/", "policy", f"{LONG_LABEL}.tiktok.com"),
    ("space-in-host", "https://www.tik tok.com/", "policy", None),
    # IPv4 number tricks and IPv6 literals
    ("ipv4-hex", "https://0x7f.1/", "policy", "127.0.0.1"),
    ("ipv4-decimal", "https://2130706433/", "policy", "127.0.0.1"),
    ("ipv4-short", "https://127.1/", "policy", "127.0.0.1"),
    ("ipv4-octal", "https://0177.0.0.1/", "policy", "127.0.0.1"),
    ("ipv4-canonical", "https://127.0.0.1/", "host", "127.0.0.1"),
    ("ipv4-metadata", "http://169.254.169.254/latest/meta-data/", "host", "169.254.169.254"),
    ("ipv6-loopback", "https://[::1]/", "host", "[::1]"),
    ("ipv6-port", "https://[::1]:8443/", "host", "[::1]:8443"),
    ("ipv6-mapped-v4", "https://[::ffff:127.0.0.1]/", "policy", "[::ffff:7f00:1]"),
    ("ipv6-long-form", "https://[0:0:0:0:0:0:0:1]/", "policy", "[::1]"),
    ("ipv6-zone", "https://[fe80::1%25eth0]/", "policy", None),
    # ports
    ("default-port", "https://www.tiktok.com:443/api/x/", "accept", "www.tiktok.com"),
    ("default-port-zeros", "https://www.tiktok.com:0443/api/x/", "accept", "www.tiktok.com"),
    ("other-port", "https://www.tiktok.com:8443/api/x/", "accept", "www.tiktok.com:8443"),
    ("http-default-port", "http://webcast.tiktok.com:80/webcast/im/fetch/", "accept", "webcast.tiktok.com"),
    ("empty-port", "https://www.tiktok.com:/api/x/", "policy", "www.tiktok.com"),
    ("port-too-big", "https://www.tiktok.com:99999/", "policy", None),
    ("port-letters", "https://www.tiktok.com:abc/", "policy", None),
    ("double-port", "https://www.tiktok.com:443:443/", "policy", None),
    # whitespace, tabs and newlines (the URL Standard deletes tabs/newlines anywhere: refused here)
    ("tab-in-host", "https://www.tik\ttok.com/", "policy", "www.tiktok.com"),
    ("newline-in-host", "https://evil.com\n.tiktok.com/", "policy", "evil.com.tiktok.com"),
    ("crlf-in-path", "https://www.tiktok.com/api/\r\nx/", "policy", "www.tiktok.com"),
    ("tab-in-query", "https://www.tiktok.com/api/x/?a=1\t&b=2", "policy", "www.tiktok.com"),
    ("nul-in-host", "https://www.tiktok.com\x00.evil.com/", "policy", None),
    ("leading-trailing-spaces", "  https://www.tiktok.com/api/x/?a=1  ", "accept", "www.tiktok.com"),
    ("leading-trailing-whitespace", "\t\r\n https://www.tiktok.com/api/x/?a=1 \r\n", "accept", "www.tiktok.com"),
    ("leading-trailing-c0", "\x01https://www.tiktok.com/api/x/\x1f", "policy", "www.tiktok.com"),
    # accepted, normalised as a browser does
    ("plain", "https://www.tiktok.com/api/x/?aid=1988", "accept", "www.tiktok.com"),
    ("bare-suffix", "https://tiktok.com/", "accept", "tiktok.com"),
    ("upper-case", "HTTPS://WWW.TikTok.COM/api/x/", "accept", "www.tiktok.com"),
    ("no-path", "https://www.tiktok.com", "accept", "www.tiktok.com"),
    ("no-path-query", "https://www.tiktok.com?aid=1988", "accept", "www.tiktok.com"),
    ("at-in-fragment", "https://www.tiktok.com#@evil.com", "accept", "www.tiktok.com"),
    ("at-in-query", "https://www.tiktok.com/?@evil.com", "accept", "www.tiktok.com"),
    ("at-in-path", "https://www.tiktok.com/@evil.com/live", "accept", "www.tiktok.com"),
    ("dot-segments", "https://www.tiktok.com/api/../webcast/im/fetch/", "accept", "www.tiktok.com"),
    ("encoded-dot-segments", "https://www.tiktok.com/api/%2e%2e/webcast/im/fetch/", "accept", "www.tiktok.com"),
    (
        "other-suffix",
        "https://api16-normal-c-useast1a.tiktokv.com/aweme/v1/",
        "accept",
        "api16-normal-c-useast1a.tiktokv.com",
    ),
    ("very-long-query", f"https://www.tiktok.com/api/x/?{LONG_QUERY}", "accept", "www.tiktok.com"),
]


def _decide(url: str) -> tuple[str, ParsedURL | None]:
    try:
        parsed = parse_url(url)
    except PolicyError:
        return "policy", None
    return ("accept" if host_allowed(parsed.host, SUFFIXES) else "host"), parsed


def _ada_host(url: str) -> str | None:
    try:
        return ada_url.URL(url).host
    except ValueError:
        return None


def test_the_table_is_big_enough_and_unique() -> None:
    assert len(HOSTILE) >= 40
    assert len({row[0] for row in HOSTILE}) == len(HOSTILE)
    assert sum(row[2] == "accept" for row in HOSTILE) >= 10 and sum(row[2] != "accept" for row in HOSTILE) >= 40


@pytest.mark.parametrize(("case", "url", "decision", "host"), HOSTILE, ids=[r[0] for r in HOSTILE])
def test_hostile_url(case: str, url: str, decision: str, host: str | None) -> None:
    """The decision, and the host: a browser's reading of the input (ada_url), which we sign for."""
    assert _ada_host(url) == host, "the table's host must be the browser's reading"
    got, parsed = _decide(url)
    assert got == decision
    if parsed is not None:
        assert parsed.host == host
        assert ada_url.URL(parsed.base).href == parsed.base


def test_the_defect_url_is_refused_and_named() -> None:
    """Defect 7: accepted (and signed) before; a browser sends it to evil.com."""
    with pytest.raises(PolicyError, match=r"evil\.com"):
        parse_url("https://evil.com\\.tiktok.com/api/x/?aid=1988")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://evil.com\\.tiktok.com/", "backslash"),
        ("https://www.tiktok.com/api\\x", "backslash"),
        ("https://evil.com@www.tiktok.com/", "userinfo"),
        ("https://@www.tiktok.com/", "userinfo"),
        ("https://www%2Etiktok.com/", "percent-escapes"),
        ("https://ｗｗｗ.ｔｉｋｔｏｋ.ｃｏｍ/", "not ASCII"),
        ("https://0x7f.1/", "canonical form"),
        ("https://evil.com;.tiktok.com/", "labels"),
        ("https://www.tiktok.com:/", "port"),
        ("https:www.tiktok.com/", "https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("https://www.tik\ttok.com/", "control"),
        ("https://www.tiktok.com/?q=100%", "percent-escape"),
        ("https://www.tiktok.com/?q=%E4", "percent-escape"),
    ],
)
def test_each_rule_refuses_with_its_own_reason(url: str, reason: str) -> None:
    """Each rule is observable on its own (several would otherwise cover for each other)."""
    with pytest.raises(PolicyError, match=re.escape(reason)):
        parse_url(url)


def test_host_allowed_reads_only_canonical_hosts() -> None:
    """Defence in depth: host_allowed alone refuses what a browser would take as a TikTok subdomain."""
    assert host_allowed("www.tiktok.com", SUFFIXES)
    assert host_allowed("WWW.TikTok.com:443", SUFFIXES)
    assert host_allowed("tiktok.com", SUFFIXES)
    for bad in ("evil.com;.tiktok.com", "evil.com\\.tiktok.com", "a_b.tiktok.com", "www.tiktok.com.", "", ":443"):
        assert not host_allowed(bad, SUFFIXES), bad
    assert not host_allowed("127.0.0.1", SUFFIXES)
    assert host_allowed("127.0.0.1:9000", ("127.0.0.1",))
    assert host_allowed("[::1]:9000", ("::1",))
    assert not host_allowed("1.127.0.0.1", ("127.0.0.1",))
    assert not host_allowed("[::1]", ("tiktok.com",))


# -- vectors from the SDK oracle ----------------------------------------------------------------


def _vectors() -> list[dict[str, Any]]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]


VECTOR_LIST = _vectors()


def test_vector_file_covers_the_issue_cases() -> None:
    ids = {v["id"] for v in VECTOR_LIST}
    for needed in (
        "mixed-encoded-and-raw-cjk",
        "spaces-plain",
        "spaces-escaped",
        "dq-lt-gt-plain",
        "apostrophe-plain",
        "backtick-plain",
        "fragment",
        "braces-pipe-backslash-caret-plain",
        "emoji-plain",
        "lone-percent-end",
        "percent-zz",
        "plus",
        "hex-lowercase",
        "hex-mixed-case",
        "empty-values",
        "duplicate-keys",
    ):
        assert needed in ids
    assert {v["kind"] for v in VECTOR_LIST} == {"sdk-hook-url", "url-parse"}
    hook = [v for v in VECTOR_LIST if v["kind"] == "sdk-hook-url"]
    assert all(v["provenance"] == "oracle" and v["sdk_file_sha256"] for v in hook)
    assert sum(v["outcome"] == "sent" for v in hook) >= 300


@pytest.mark.parametrize("vector", VECTOR_LIST, ids=[v["id"] for v in VECTOR_LIST])
def test_vector(vector: dict[str, Any]) -> None:
    """ttsign.vectors.url_kinds: signed string and sent URL byte for byte; host decisions as Chrome's."""
    outcome = check_vector(vector)
    assert outcome.status == "passed", outcome.detail


def test_raw_non_ascii_next_to_escapes_is_signed_raw_and_sent_encoded() -> None:
    """Defect 7's second half: the URL must be what goes on the wire, the token over what the SDK signs."""
    signer = Signer(SignerOptions(gnarly_version="5.1.3"), clock=lambda: 1_730_000_000.0, rng=random.Random(1))
    signed = signer.sign("https://www.tiktok.com/api/x/?keyword=%E4%B8%AD&q=日本 x", ms_token="T")
    assert signed.signed_query == "keyword=%E4%B8%AD&q=日本 x&msToken=T"
    assert signed.url.startswith(
        "https://www.tiktok.com/api/x/?keyword=%E4%B8%AD&q=%E6%97%A5%E6%9C%AC%20x&msToken=T&X-Bogus="
    )
    assert ada_url.URL(signed.url).href == signed.url


def test_serialized_pairs_with_an_apostrophe_are_what_the_sdk_signs() -> None:
    """query.py's ' -> %27 (gnarly-532.md 0.1 "open point"), settled by the SDK's own hook."""
    from ttsign.algorithms.query import serialize_pairs

    vector = next(v for v in VECTOR_LIST if v["id"] == "apostrophe-escaped")
    assert vector["signed_query"].startswith("e=%41&" + serialize_pairs([("q", "it's")]) + "&msToken=")


def test_url_with_rejects_a_foreign_signed_string() -> None:
    p = parse_url("https://www.tiktok.com/api/x/?a=1")
    assert p.url_with("a=1&msToken=") == "https://www.tiktok.com/api/x/?a=1&msToken="
    with pytest.raises(ValueError):
        p.url_with("b=2&msToken=")
    assert parse_url("https://www.tiktok.com/api/x/").url_with("") == "https://www.tiktok.com/api/x/"


# -- properties ----------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "www.tiktok.com",
        "tiktok.com",
        "evil.com",
        ".",
        "..",
        "/",
        "\\",
        "@",
        ":",
        ":443",
        ":8443",
        "?",
        "#",
        "&",
        "=",
        "%",
        "%2e",
        "%2E",
        "%41",
        "%E4%B8%AD",
        "%zz",
        "[",
        "]",
        "::1",
        "0x7f",
        "127",
        "1",
        " ",
        "\t",
        "\n",
        "ｔ",
        "\u3002",
        "\u00ad",
        "日本",
        "😀",
        "'",
        '"',
        "<",
        ">",
        "`",
        "{",
        "}",
        "|",
        "^",
        "xn--pple-43d",
        "a",
        "-",
        "_",
        ";",
        "+",
        "api",
        "webcast",
        "msToken=x",
        "X-Bogus=y",
    ]
)
_HOSTS = st.sampled_from(
    [
        "www.tiktok.com",
        "WWW.TikTok.com",
        "webcast.tiktok.com",
        "tiktok.com",
        "m.tiktok.com:8443",
        "evil.com",
        "tiktok.com.evil.com",
        "127.0.0.1",
        "[::1]",
        "xn--pple-43d.tiktok.com",
        "www.tiktok.com:443",
    ]
)
_CLEAN = st.text(st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="%\\"), max_size=12)
_TEXT = st.lists(_PIECES | st.text(max_size=3) | _CLEAN | _CLEAN, max_size=8).map("".join)
_URLS = st.one_of(
    # anything: pieces glued after a scheme-ish start
    st.builds(
        lambda scheme, parts: scheme + "".join(parts),
        st.sampled_from(["https://", "http://", "HTTPS://", "https:", "https:/", "https:\\\\", "ftp://", ""]),
        st.lists(_PIECES | st.text(max_size=4), max_size=14),
    ),
    # URL-shaped: a host (good, bad or mangled), then a path, a query and a fragment of hostile text
    st.builds(
        lambda scheme, host, mangle, path, query, frag: f"{scheme}{host}{mangle}/{path}{query}{frag}",
        st.sampled_from(["https://", "http://"]),
        _HOSTS,
        st.sampled_from(["", "", "", "\\", "@evil.com", ".", ":", "%2e", "\t", "ｔ"]),
        _TEXT,
        st.one_of(st.just(""), _TEXT.map(lambda t: "?" + t)),
        st.one_of(st.just(""), _TEXT.map(lambda t: "#" + t)),
    ),
    # mostly acceptable: a good host, then any text without controls, '%' or '\\'
    st.builds(lambda host, path, query: f"https://{host}/{path}?{query}", _HOSTS, _CLEAN, _CLEAN),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_URLS)
def test_our_host_is_adas_and_what_we_emit_is_a_fixed_point(url: str) -> None:
    try:
        parsed = parse_url(url)
    except PolicyError:
        return
    browser = ada_url.URL(url)  # the browser's reading of the exact input
    assert parsed.host == browser.host
    assert host_allowed(parsed.host, SUFFIXES) == (
        browser.hostname in SUFFIXES or any(browser.hostname.endswith("." + s) for s in SUFFIXES)
    )
    for emitted in (
        parsed.base,
        parsed.url_with(parsed.query),
        parsed.url_with(f"{parsed.query}&msToken=m" if parsed.query else "msToken=m"),
    ):
        assert ada_url.URL(emitted).href == emitted
    signer = Signer(SignerOptions(gnarly_version="5.1.3"), clock=lambda: 1_730_000_000.0, rng=random.Random(0))
    for product in (Product.CLASSIC, Product.FULL):
        out = signer.sign(parsed, ms_token="tok", product=product)
        assert ada_url.URL(out.url).href == out.url
        assert out.url.startswith(parsed.base + "?")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_any_query_text_is_refused_or_signed_as_the_sdk_and_sent_as_a_browser(tail: str) -> None:
    from ttsign.algorithms.xbogus import hook_signed_query

    url = "https://www.tiktok.com/api/x/?" + tail
    try:
        parsed = parse_url(url)
    except PolicyError:
        return
    query = url.strip(TRIM).split("?", 1)[1].split("#", 1)[0]
    kept = "&".join(s for s in query.split("&") if s and s.split("=", 1)[0] not in TOKEN_PARAMS)
    hooked, signed = hook_signed_query("https://www.tiktok.com/api/x/" + ("?" + kept if kept else ""), "")
    assert parsed.query == signed.removesuffix("msToken=").removesuffix("&")
    assert parsed.wire_query == ada_url.URL(hooked).search[1:].removesuffix("msToken=").removesuffix("&")
    assert parsed.wire_query.isascii() and " " not in parsed.wire_query and "'" not in parsed.wire_query


# -- the five sign routes ------------------------------------------------------------------------

_ROUTES = [
    ("/v1/sign", lambda url: {"json": {"url": url}}),
    ("/signature", lambda url: {"content": url.encode(), "headers": {"content-type": "text/plain"}}),
    ("/sign", lambda url: {"json": {"url": url}}),
    ("/webcast/sign_url", lambda url: {"json": {"url": url}}),
    ("/tiktok/sign_url", lambda url: {"json": {"url": url}}),
]


@pytest.fixture(scope="module")
def client() -> Any:
    from starlette.testclient import TestClient

    from ttsign.config import Settings
    from ttsign.server.app import create_app

    with TestClient(create_app(Settings(log_json=True, log_level="warning")), raise_server_exceptions=False) as c:
        yield c


def _signed_url(body: dict[str, Any]) -> str:
    data = body.get("data") or body.get("response") or {}
    return str(data.get("signed_url") or data.get("signedUrl"))


@pytest.mark.parametrize(("route", "req"), _ROUTES, ids=[r[0] for r in _ROUTES])
def test_every_sign_route_refuses_what_a_browser_sends_elsewhere(client: Any, route: str, req: Any) -> None:
    for url in ("https://evil.com\\.tiktok.com/api/x/?aid=1988", "https://www.tiktok.com@evil.com/api/x/?aid=1988"):
        r = client.post(route, **req(url))
        assert r.status_code == 400, (route, url, r.text)
        body = r.json()
        assert body["code"] == 400 and len(body["message"]) >= 19 and "evil.com" in body["message"]
    r = client.post(route, **req("https://www.tiktok.com/api/x/?keyword=%E4%B8%AD&q=日本&aid=1988"))
    assert r.status_code == 200, r.text
    sent = _signed_url(r.json())
    assert sent.startswith("https://www.tiktok.com/api/x/?keyword=%E4%B8%AD&q=%E6%97%A5%E6%9C%AC&aid=1988&")
    assert ada_url.URL(sent).href == sent


def test_only_ascii_whitespace_is_trimmed_from_a_routed_url(client: Any) -> None:
    """A browser trims C0 and space only: a trailing U+3000 or U+00A0 is part of the query it sends."""
    r = client.post("/v1/sign", json={"url": " https://www.tiktok.com/api/x/?aid=1988&q=a\u3000\u00a0\n"})
    assert r.status_code == 200, r.text
    assert "&q=a%E3%80%80%C2%A0&" in r.json()["data"]["signed_url"]
