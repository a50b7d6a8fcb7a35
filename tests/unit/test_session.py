"""`ttsign.tiktok.session`: strict parsing of a caller's own TikTok session (issue 10)."""

from __future__ import annotations

import pytest

from ttsign.tiktok.session import MAX_HEADER_CHARS, SessionError, caller_session, from_query, parse_cookie_header

SID = "0123456789abcdef0123456789abcdef"


def test_a_cookie_header_keeps_only_the_session_cookies_in_order() -> None:
    s = parse_cookie_header(f"ttwid=1%7Cabc; sessionid={SID}; sid_guard=a%7C1%7C2; tt-target-idc=useast2a; msToken=x;")
    assert s.cookies == {"sessionid": SID, "sid_guard": "a%7C1%7C2", "tt-target-idc": "useast2a"}
    assert s.source == "x-cookie-header" and set(s.values()) == {SID, "a%7C1%7C2", "useast2a"}


def test_the_query_form_sets_the_three_login_cookies_as_tiktoklive_does() -> None:
    s = from_query(SID, "eu-ttp2")
    assert s.cookies == {"sessionid": SID, "sessionid_ss": SID, "sid_tt": SID, "tt-target-idc": "eu-ttp2"}


def test_repr_and_str_show_no_value() -> None:
    s = parse_cookie_header(f"sessionid={SID}")
    assert SID not in repr(s) and SID not in str(s)


def test_cookies_is_a_copy() -> None:
    s = parse_cookie_header(f"sessionid={SID}")
    s.cookies["sessionid"] = "changed"
    assert s.cookies["sessionid"] == SID


@pytest.mark.parametrize(
    "raw",
    [
        "x" * (MAX_HEADER_CHARS + 1),
        f"sessionid={SID}\r\nX-Injected: 1",
        f"sessionid={SID}\n",
        f"sessionid={SID}\x00",
        f"sessionid={SID}é",
        "sessionid",
        "=abc",
        "session id=abc",
        'sessionid="abc"',
        "sessionid=a,b",
        "sessionid=a\\b",
        "sessionid=a b",
        "sessionid=",
        f"sessionid={SID}; sessionid={SID}",
        "ttwid=abc; msToken=def",
        f"sessionid={'a' * 513}",
        f"sessionid={SID}; tt-target-idc=US EAST",
        f"sessionid={SID}; tt-target-idc=UsEast1a",
    ],
)
def test_hostile_or_sessionless_headers_are_refused(raw: str) -> None:
    with pytest.raises(SessionError) as exc:
        parse_cookie_header(raw)
    assert exc.value.reason == "bad_session" and len(str(exc.value)) >= 19
    assert SID not in str(exc.value)


@pytest.mark.parametrize("value", ["abc\r\n", "a b", "a;b=c", "", "x" * 513, "é"])
def test_hostile_query_sessions_are_refused(value: str) -> None:
    with pytest.raises(SessionError):
        from_query(value)


def test_caller_session_picks_one_source_and_refuses_the_rest() -> None:
    assert caller_session({}, {}) is None
    assert caller_session({"tt_target_idc": "useast1a"}, {}) is None  # TikTokLive always sends it
    assert caller_session({"session_id": SID}, {}).source == "query"  # type: ignore[union-attr]
    assert caller_session({}, {"x-cookie-header": f"sessionid={SID}"}).source == "x-cookie-header"  # type: ignore[union-attr]
    with pytest.raises(SessionError) as exc:
        caller_session({}, {"x-oauth-token": "tok"})
    assert exc.value.reason == "oauth_unsupported"
    both = caller_session({"session_id": "other1"}, {"x-cookie-header": f"sessionid={SID}"})
    assert both is not None and both.cookies == {"sessionid": SID}  # the header is the session, never mixed
