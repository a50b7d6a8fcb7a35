"""Check a signed URL's tokens against the request it claims to sign (what TikTok's side can check).

`verify(url, user_agent, body)` finds the X-Dynosaur, X-Bogus and X-Gnarly in the URL's query, works out
the string each one was computed over from the token order the SDK uses (policy.py, gnarly-532.md §0),
and runs the algorithm's own verifier on each:

* ``Q&X-Dynosaur=D&msToken=T&X-Bogus=1&X-Gnarly=G`` (5.3.2): D over ``Q``, G over ``Q&X-Dynosaur=D&msToken=T``,
  ``X-Bogus=1`` is the page's fixed stub;
* ``Q&msToken=T&X-Bogus=B&X-Gnarly=G`` (5.1.3) and ``Q&msToken=T&X-Bogus=B`` (classic, webcast): B and G
  over ``Q&msToken=T``.

The URL is read as sent: its query bytes are the signed bytes (true of every URL ttsign signs, except one
that mixed percent-escapes with raw non-ASCII, which the browser re-encodes after signing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ttsign.algorithms import gnarly, xbogus
from ttsign.algorithms.errors import TokenError
from ttsign.algorithms.payloads import detect, dynosaur532, gnarly513, gnarly532

TOKENS = ("X-Dynosaur", "X-Bogus", "X-Gnarly")


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """One token of the URL and what did not match (``{check id: reason}``; empty when it passes)."""

    name: str
    """The query parameter: ``X-Dynosaur``, ``X-Bogus`` or ``X-Gnarly``."""
    layout: str
    """``x-dynosaur-5.3.2``, ``x-gnarly-5.3.2``, ``x-gnarly-5.1.3``, ``x-bogus`` or ``x-bogus-stub``."""
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The checks of every token found; `ok` when at least one token was found and all of them pass."""

    checks: tuple[TokenCheck, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def problems(self) -> dict[str, dict[str, str]]:
        """``{token name: {check id: reason}}`` for the tokens that fail (``{"url": ...}`` with no token)."""
        if not self.checks:
            return {"url": {"tokens": "the URL carries no X-Bogus, X-Gnarly or X-Dynosaur"}}
        return {c.name: dict(c.problems) for c in self.checks if c.problems}


def _locate(query: str) -> tuple[list[str], dict[str, int]]:
    segments = query.split("&")
    where: dict[str, int] = {}
    for i, segment in enumerate(segments):
        name = segment.split("=", 1)[0]
        if name in TOKENS and name not in where:
            where[name] = i
    return segments, where


def verify(
    url: str,
    user_agent: str,
    body: str | bytes = b"",
    *,
    now: float | None = None,
    tolerance: float = 300.0,
) -> VerifyResult:
    """Check every signing token in `url` against its query, `user_agent` and `body` (the request's body).

    With `now` (unix seconds), each token's timestamp must also be within `tolerance` seconds of it.
    A token that does not decode fails with the check id ``decode``. Pure: no I/O, no clock read.
    """
    query = url.split("#", 1)[0].partition("?")[2]
    segments, where = _locate(query)

    def value(name: str) -> str:
        return segments[where[name]][len(name) + 1 :]

    def before(index: int) -> str:
        return "&".join(segments[:index])

    checks: list[TokenCheck] = []
    gnarly_532: gnarly532.Fields | None = None
    gnarly_layout = ""
    if "X-Gnarly" in where:
        token = value("X-Gnarly")
        end = where["X-Gnarly"]
        if "X-Bogus" in where and where["X-Bogus"] < end:
            end = where["X-Bogus"]
        try:
            payload = gnarly.unseal(token).payload
            gnarly_layout = str(detect.describe_payload(payload)["layout"])
            if gnarly_layout == "x-gnarly-5.3.2":
                gnarly_532 = gnarly532.parse_payload(payload)
                bad = gnarly532.verify(
                    gnarly_532, sealed_query=before(end), body=body, user_agent=user_agent, now=now, tolerance=tolerance
                )
            else:
                bad = gnarly513.verify(
                    gnarly513.parse_payload(payload),
                    query_string=before(end),
                    body=body,
                    user_agent=user_agent,
                    now=now,
                    tolerance=tolerance,
                )
        except TokenError as exc:
            gnarly_layout, bad = gnarly_layout or "x-gnarly", {"decode": str(exc)}
        checks.append(TokenCheck("X-Gnarly", gnarly_layout, bad))
    if "X-Dynosaur" in where:
        try:
            fields = dynosaur532.decode(value("X-Dynosaur"))
            bad = dynosaur532.verify(
                fields,
                business_query=before(where["X-Dynosaur"]),
                user_agent=user_agent,
                now=now,
                tolerance=tolerance,
                gnarly=gnarly_532,
            )
        except TokenError as exc:
            bad = {"decode": str(exc)}
        checks.insert(0, TokenCheck("X-Dynosaur", "x-dynosaur-5.3.2", bad))
    if "X-Bogus" in where:
        token = value("X-Bogus")
        if token == "1":
            stub_ok = gnarly_layout == "x-gnarly-5.3.2"
            bad = {} if stub_ok else {"stub": "X-Bogus=1 is the 5.3.2 page's stub; it needs an X-Gnarly 5.3.2"}
            checks.append(TokenCheck("X-Bogus", "x-bogus-stub", bad))
        else:
            try:
                names = xbogus.verify(
                    token,
                    before(where["X-Bogus"]),
                    body,
                    user_agent,
                    now=None if now is None else int(now),
                    max_skew=int(tolerance),
                )
                bad = {n: f"{n} does not match the request" for n in names}
            except TokenError as exc:
                bad = {"decode": str(exc)}
            checks.append(TokenCheck("X-Bogus", "x-bogus", bad))
    order = {name: i for i, name in enumerate(TOKENS)}
    return VerifyResult(tuple(sorted(checks, key=lambda c: order[c.name])))
