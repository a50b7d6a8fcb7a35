"""API keys: `X-Api-Key` (what both client libraries send) or `Authorization: Bearer`.

Keys are compared in constant time against every configured key and never logged; callers are
identified in logs and rate-limit buckets by a short hash of their key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

# RFC 9110 §11.6.1: a 401 names the schemes that would work. Both clients send `X-Api-Key`; `Bearer` is accepted too.
WWW_AUTHENTICATE = {"WWW-Authenticate": 'ApiKey realm="ttsign", header="X-Api-Key", Bearer realm="ttsign"'}


def key_id(key: str) -> str:
    """A non-reversible label for a key (for buckets and logs)."""
    return "key:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:12]


def extract_key(headers: dict[str, str]) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def check_key(presented: str, keys: frozenset[str]) -> bool:
    """Constant-time membership: every key is compared, whatever matches."""
    p = presented.encode("utf-8", "replace")
    ok = False
    for k in keys:
        ok |= hmac.compare_digest(p, k.encode("utf-8"))
    return ok


class KeyRing:
    """The configured keys, encoded once, each with its caller id (what the auth middleware checks against)."""

    def __init__(self, keys: frozenset[str]) -> None:
        self._keys = tuple((k.encode("utf-8"), key_id(k)) for k in sorted(keys))

    def __bool__(self) -> bool:
        return bool(self._keys)

    def caller_of(self, presented: str) -> str | None:
        """The caller id of a right key, else None; every key is compared, in constant time, whatever matches."""
        p = presented.encode("utf-8", "replace")
        found = None
        for key, caller in self._keys:
            if hmac.compare_digest(p, key):
                found = caller
        return found


def is_loopback(host: str) -> bool:
    """True only for a bind address other machines cannot reach: 127.0.0.0/8, ::1 or `localhost`.

    Anything else, the empty string included (it binds every interface), is public.
    """
    h = host.strip()
    if h.lower() in ("localhost", "localhost."):
        return True
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False
