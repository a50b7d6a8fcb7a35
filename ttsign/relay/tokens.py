"""Room tokens: short-lived signed credentials that open one room's relay streams, for browsers.

A browser overlay (an OBS browser source, a page) cannot keep an API key secret, so a program that holds a
key asks `POST /v1/tokens {"room": "<unique_id>", "ttl": seconds}` and hands the page a token instead. The
token opens the relay paths of that one room (`/v1/rooms/{room}/events`, `/v1/rooms/{room}/ws`,
`/overlay/{room}`, the Euler-compatible socket with `uniqueId=<room>`) as `?token=...`, until it expires;
the subscription counts against the key that asked for it (the `owner` claim).

Format: `tt1.<claims>.<mac>`, both parts base64url without padding; the claims are the JSON object
`{"r": room, "e": expiry (unix seconds), "o": owner}` and the mac is HMAC-SHA256 over `tt1.<claims>` with
`TTSIGN_TOKEN_SECRET`. With that setting empty, each process draws a random secret at start: its tokens
stop working when it restarts, and another instance (or another `--workers` process) refuses them, so a
deployment with more than one process sets one `TTSIGN_TOKEN_SECRET` for all of them. Tokens are
checked when a stream opens; an open stream is not cut when its token expires (the relay's own limits,
`TTSIGN_RELAY_MAX_LIFETIME`, end it).

Pure: no I/O; the clock is a parameter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

PREFIX = "tt1"
MAX_TOKEN_CHARS = 1024
MAX_OWNER_CHARS = 128
_PROCESS_SECRET = secrets.token_bytes(32)
"""The secret of this process when TTSIGN_TOKEN_SECRET is empty (drawn once, at import)."""


class TokenInvalid(ValueError):
    """A token that does not open the room asked for: malformed, forged, expired or for another room.
    The message says which, without echoing the token."""


@dataclass(frozen=True, slots=True)
class RoomClaims:
    room: str
    expires_at: int
    owner: str


def room_key(unique_id: str) -> str:
    """The form rooms are compared in: no leading `@`, lower case (TikTok usernames are case-insensitive)."""
    return unique_id.strip().removeprefix("@").lower()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) % 4 == 1 or not text.isascii():
        raise TokenInvalid("malformed room token: not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenInvalid("malformed room token: not base64url") from None


class RoomTokens:
    """Issues and checks room tokens under one secret."""

    def __init__(self, secret: bytes, *, max_ttl_s: int, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the room token secret must be at least 16 bytes")
        self._secret = secret
        self.max_ttl_s = max_ttl_s
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: object, *, clock: Callable[[], float] = time.time) -> RoomTokens:
        """From `TTSIGN_TOKEN_SECRET` (UTF-8; hashed, so any length >= 16 works) or this process's random secret."""
        configured = str(getattr(settings, "token_secret", "") or "")
        secret = hashlib.sha256(configured.encode("utf-8")).digest() if configured else _PROCESS_SECRET
        return cls(secret, max_ttl_s=int(getattr(settings, "token_max_ttl_s", 86400)), clock=clock)

    @property
    def per_process(self) -> bool:
        """True when the secret is this process's own (tokens do not survive a restart or cross instances)."""
        return hmac.compare_digest(self._secret, _PROCESS_SECRET)

    def _mac(self, signed: str) -> str:
        return _b64(hmac.new(self._secret, signed.encode("ascii"), hashlib.sha256).digest())

    def issue(self, room: str, ttl_s: int, owner: str) -> tuple[str, int]:
        """A token for `room` valid `ttl_s` seconds (1..max_ttl_s), and its expiry in unix seconds."""
        if not 1 <= ttl_s <= self.max_ttl_s:
            raise ValueError(f"ttl must be 1..{self.max_ttl_s} seconds (TTSIGN_TOKEN_MAX_TTL)")
        expires_at = int(self.clock()) + ttl_s
        claims = {"r": room_key(room), "e": expires_at, "o": owner[:MAX_OWNER_CHARS]}
        body = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=True).encode("ascii"))
        signed = f"{PREFIX}.{body}"
        return f"{signed}.{self._mac(signed)}", expires_at

    def verify(self, token: str, room: str) -> RoomClaims:
        """The claims of `token` if it is ours, unexpired and for `room`; TokenInvalid otherwise."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenInvalid("malformed room token")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            raise TokenInvalid("malformed room token: expected tt1.<claims>.<mac>")
        signed = f"{parts[0]}.{parts[1]}"
        if not parts[2].isascii() or not hmac.compare_digest(self._mac(signed).encode(), parts[2].encode()):
            raise TokenInvalid("room token signature does not verify (forged, or from another server's secret)")
        try:
            data = json.loads(_unb64(parts[1]))
        except ValueError:
            raise TokenInvalid("malformed room token: claims are not JSON") from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("r"), str)
            or not isinstance(data.get("e"), int)
            or not isinstance(data.get("o"), str)
        ):
            raise TokenInvalid("malformed room token: claims missing")
        claims = RoomClaims(data["r"], data["e"], data["o"])
        if self.clock() >= claims.expires_at:
            raise TokenInvalid("room token expired: ask POST /v1/tokens for a new one")
        if not hmac.compare_digest(claims.room.encode(), room_key(room).encode()):
            raise TokenInvalid("room token is for another room")
        return claims
