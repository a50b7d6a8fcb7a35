"""The caller's own TikTok session: parsed from one request, used for that request's TikTok calls only.

A caller may pass a logged-in session two ways (live-connect.md §1.1a, §3.1 step 6; Euler's SDKs 0.5/0.6):

* the query: `session_id` (and `tt_target_idc`), as TikTokLive sends them. A `tt_target_idc` alone is not
  a session (TikTokLive 7.x always sends `useast1a` from its default jar) and is ignored;
* the `x-cookie-header` header: a `Cookie`-style `name=value; name=value` string (Euler's SDKs, the
  connector's `authenticateWs`, which sends its whole jar). When it is sent, it is the session: a query
  `session_id` beside it is ignored (no client sends both; the two are never mixed).

Parsing is strict: RFC 6265 syntax (token names, cookie-octet values, no quotes, no control characters,
no repeated name), at most `MAX_HEADER_CHARS` in all and `MAX_VALUE_CHARS` a value. Only the cookies
TikTok keeps a login in are kept (`SESSION_COOKIES`: the ones both clients treat as the session,
live-connect.md §1.2 "sessionid*/sid_*/tt-target-idc"); any other well-formed cookie (ttwid, msToken, ...)
is dropped, never forwarded. A header without a login cookie (`sessionid`, `sessionid_ss` or `sid_tt`) is
refused: it carries no session.

`x-oauth-token` is Euler Stream's OAuth token: Euler resolves it to a TikTok session stored on its side.
ttsign has no such store and no way to turn the token into TikTok cookies, so it refuses it (400) rather
than silently connecting anonymously a caller who asked for an authenticated connect.

A `CallerSession` lives in the request that parsed it: nothing here stores it, its `repr` shows no value,
and the route registers every value with the log redaction (`ttsign.server.logs.add_secrets`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

LOGIN_COOKIES = ("sessionid", "sessionid_ss", "sid_tt")
"""Each holds the session id itself (TikTokLive sets all three from `session_id`)."""
SESSION_COOKIES = (*LOGIN_COOKIES, "sid_guard", "tt-target-idc")
"""The cookies kept from a caller's header: the login ones, its guard, and the account's data centre."""
MAX_HEADER_CHARS = 4096
MAX_VALUE_CHARS = 512
# RFC 6265 §4.1.1: cookie-name is an RFC 2616 token, cookie-value a run of cookie-octets (no quotes here).
_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")
_VALUE = re.compile(rf"^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{{1,{MAX_VALUE_CHARS}}}$")
_IDC = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")  # useast1a, useast2a, alisg, eu-ttp2, no1a, ...


class SessionError(ValueError):
    """A session input ttsign refuses; `reason` names why (the route answers 400 with it)."""

    def __init__(self, message: str, *, reason: str = "bad_session") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, repr=False, eq=False)
class CallerSession:
    """One caller's login cookies, for the request that carried them. `source`: `query` or `x-cookie-header`."""

    pairs: tuple[tuple[str, str], ...]
    source: str

    @property
    def cookies(self) -> dict[str, str]:
        """A fresh dict (callers may merge it into a request's jar without touching this session)."""
        return dict(self.pairs)

    def values(self) -> tuple[str, ...]:
        """Every value, for the log redaction."""
        return tuple(v for _, v in self.pairs)

    def __repr__(self) -> str:
        return f"CallerSession(<{len(self.pairs)} cookies, redacted>, source={self.source!r})"


def _value(name: str, value: str, where: str) -> str:
    if not _VALUE.fullmatch(value):
        raise SessionError(
            f"{where}: the value of {name} is not a cookie value "
            f"(1-{MAX_VALUE_CHARS} printable ASCII characters, no space, quote, comma, semicolon or backslash)"
        )
    return value


def parse_cookie_header(raw: str) -> CallerSession:
    """A `CallerSession` from an `x-cookie-header` value; SessionError when it is malformed or has no login."""
    if len(raw) > MAX_HEADER_CHARS:
        raise SessionError(f"x-cookie-header is longer than {MAX_HEADER_CHARS} characters")
    if not raw.isascii() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise SessionError("x-cookie-header holds a control or non-ASCII character (CR, LF, NUL, ...)")
    kept: dict[str, str] = {}
    seen: set[str] = set()
    for part in raw.split(";"):
        part = part.strip(" ")
        if not part:
            continue  # a trailing ';' (TikTokLive's jar style) or ';;'
        name, eq, value = part.partition("=")
        if not eq or not _NAME.fullmatch(name):
            raise SessionError("x-cookie-header is not a cookie list: expected 'name=value; name=value'")
        if name in seen:
            raise SessionError(f"x-cookie-header names {name} twice")
        seen.add(name)
        _value(name, value, "x-cookie-header")
        if name in SESSION_COOKIES:
            kept[name] = value
    if not any(n in kept for n in LOGIN_COOKIES):
        raise SessionError("x-cookie-header has no TikTok login cookie (sessionid, sessionid_ss or sid_tt)")
    if "tt-target-idc" in kept and not _IDC.fullmatch(kept["tt-target-idc"]):
        raise SessionError("x-cookie-header: tt-target-idc is not a TikTok data centre name (e.g. useast1a)")
    return CallerSession(tuple(kept.items()), "x-cookie-header")


def from_query(session_id: str, tt_target_idc: str = "") -> CallerSession:
    """A `CallerSession` from TikTokLive's `session_id` / `tt_target_idc` query params, as it sets its own jar."""
    _value("session_id", session_id, "session_id")
    pairs = [(name, session_id) for name in LOGIN_COOKIES]
    if tt_target_idc:
        if not _IDC.fullmatch(tt_target_idc):
            raise SessionError("tt_target_idc is not a TikTok data centre name (e.g. useast1a)")
        pairs.append(("tt-target-idc", tt_target_idc))
    return CallerSession(tuple(pairs), "query")


def caller_session(query: Mapping[str, str], headers: Mapping[str, str]) -> CallerSession | None:
    """The request's session, or None (the anonymous path). SessionError for anything ttsign refuses."""
    oauth = headers.get("x-oauth-token", "")
    cookie = headers.get("x-cookie-header", "")
    session_id = query.get("session_id", "")
    if oauth:
        raise SessionError(
            "x-oauth-token is an Euler Stream OAuth token; ttsign cannot resolve it into a TikTok session. "
            "Pass your own session instead: x-cookie-header 'sessionid=...; tt-target-idc=...' or session_id",
            reason="oauth_unsupported",
        )
    if cookie:  # the whole session; a `session_id` beside it is never used
        return parse_cookie_header(cookie)
    if session_id:
        return from_query(session_id, query.get("tt_target_idc", ""))
    return None
