"""Which tokens each kind of URL gets, and that the emitted query is the signed one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttsign.signing.policy import PolicyError, Product, choose_product, host_allowed, parse_url

SUFFIXES = ("tiktok.com", "tiktokv.com", "tiktokcdn.com")


@pytest.mark.parametrize(
    ("url", "method", "product"),
    [
        ("https://www.tiktok.com/api/user/detail/?aid=1988", "GET", Product.FULL),
        ("https://www.tiktok.com/api/post/item_list/?aid=1988", "GET", Product.FULL),
        ("https://m.tiktok.com/api/post/item_list/?aid=1988", "GET", Product.FULL),
        ("https://webcast.tiktok.com/webcast/im/fetch/?aid=1988", "GET", Product.WEBCAST),
        ("https://webcast.tiktok.com/webcast/room/info/?room_id=1", "GET", Product.WEBCAST),
        ("https://webcast.tiktok.com/webcast/gift/list/", "GET", Product.WEBCAST),
        ("https://webcast.tiktok.com/webcast/room/enter/?aid=1988", "POST", Product.FULL),
        ("https://webcast.tiktok.com/webcast/room/chat/?aid=1988", "POST", Product.FULL),
        ("https://webcast.tiktok.com/webcast/room/enter/?aid=1988", "GET", Product.WEBCAST),
        ("https://webcast.tiktok.com/webcast/wallet_api/diamond_buy/", "GET", Product.FULL),
        ("https://www.tiktok.com/webcast/im/fetch/?aid=1988", "GET", Product.WEBCAST),
        ("https://www.tiktok.com/@someone/live", "GET", Product.CLASSIC),
        ("https://www.tiktok.com/node/share/user/@x", "GET", Product.CLASSIC),
    ],
)
def test_product_by_host_and_path(url, method, product):
    p = parse_url(url)
    assert choose_product(p.host, p.path, method) is product


def test_token_params_are_stripped_and_mstoken_kept():
    p = parse_url("https://www.tiktok.com/api/x/?a=1&X-Bogus=old&msToken=REAL&X-Gnarly=g&b=2&X-Dynosaur=d&_signature=s")
    assert p.query == "a=1&b=2"
    assert p.ms_token == "REAL"


@pytest.mark.parametrize(
    ("raw", "emitted"),
    [
        ("a=b c", "a=b%20c"),
        ('q="x"', "q=%22x%22"),
        ("q=<a>`", "q=%3Ca%3E%60"),
        ("k=中", "k=%E4%B8%AD"),
        ("k=%E4%B8%AD", "k=%E4%B8%AD"),  # already encoded: untouched
        ("v=5.0%20(Windows%20NT%2010.0)", "v=5.0%20(Windows%20NT%2010.0)"),
        ("tz=America/New_York&r=https://www.tiktok.com/", "tz=America/New_York&r=https://www.tiktok.com/"),
        ("e=😀", "e=%F0%9F%98%80"),
        ("a=1&&b=2", "a=1&b=2"),
    ],
)
def test_escaping_rules(raw, emitted):
    assert parse_url("https://www.tiktok.com/api/x/?" + raw).query == emitted


def test_fragment_dropped_and_port_kept():
    p = parse_url("https://www.tiktok.com:8443/api/x/?a=1#frag")
    assert p.query == "a=1" and p.host == "www.tiktok.com:8443"


@pytest.mark.parametrize("bad", ["", "ftp://x.tiktok.com/", "no-scheme", "https://", "https://www.tiktok.com/\x01"])
def test_bad_urls(bad):
    with pytest.raises(PolicyError):
        parse_url(bad)


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("www.tiktok.com", True),
        ("tiktok.com", True),
        ("webcast.tiktok.com:443", True),
        ("api16-normal-c-useast1a.tiktokv.com", True),
        ("tiktok.com.evil.io", False),
        ("nottiktok.com", False),
        ("example.com", False),
    ],
)
def test_host_allowed(host, ok):
    assert host_allowed(host, SUFFIXES) is ok


@given(st.text(max_size=300))
def test_parse_url_never_crashes_differently(tail):
    try:
        p = parse_url("https://www.tiktok.com/api/x/?" + tail)
    except PolicyError:
        return
    assert "#" not in p.query and "'" not in p.query
    # the wire form is printable ASCII; the signed form keeps raw characters when the URL holds escapes
    assert all(0x21 <= ord(c) <= 0x7E for c in p.wire_query)
    if "%" not in tail:
        assert p.query == p.wire_query
