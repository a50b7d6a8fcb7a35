"""Drive the unmodified EulerApiSdk 0.5.0 against a ttsign server; run with `.venvs/eulerapisdk/bin/python`.

    euler_driver.py BASE_URL API_KEY ACTION [ARG] [X_COOKIE_HEADER]

ACTION: `sign` (ARG: the URL), `room` (ARG: a room id), `anchor` (ARG: a username), `limits`. An empty
API_KEY uses the SDK's plain `Client`, otherwise its `AuthenticatedClient` (which sends `X-Api-Key`).
Prints one JSON line: the HTTP status, the type the SDK parsed the answer into and what it read from it
(the protobuf body as base64 for the test to decode; the SDK itself only types JSON answers).
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

from EulerApiSdk.api.accounts import get_rate_limits
from EulerApiSdk.api.tik_tok_live_anchors import fetch_webcast_url_by_unique_id
from EulerApiSdk.api.tik_tok_live_rooms import fetch_webcast_url
from EulerApiSdk.api.tik_tok_signing import sign_tik_tok_url
from EulerApiSdk.client import AuthenticatedClient, Client
from EulerApiSdk.models.rate_limit_type import RateLimitType
from EulerApiSdk.models.sign_tik_tok_url_body import SignTikTokUrlBody
from EulerApiSdk.models.sign_tik_tok_url_body_method import SignTikTokUrlBodyMethod
from EulerApiSdk.types import UNSET

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"


def _set(value: Any) -> Any:
    return None if value is UNSET else value


def _window(w: Any) -> dict[str, Any] | None:
    return None if w is UNSET else {"max": w.max_, "remaining": w.remaining, "reset_at": w.reset_at}


def main() -> None:
    base, key, action = sys.argv[1:4]
    arg = sys.argv[4] if len(sys.argv) > 4 else ""
    cookie = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else UNSET
    client: Any = AuthenticatedClient(base_url=base, token=key) if key else Client(base_url=base)
    client = client.with_timeout(__import__("httpx").Timeout(20.0))
    if action == "sign":
        body = SignTikTokUrlBody(url=arg, user_agent=UA, method=SignTikTokUrlBodyMethod.GET)
        resp = sign_tik_tok_url.sync_detailed(client=client, body=body, client_query="ttlive-python")
    elif action == "room":
        resp = fetch_webcast_url.sync_detailed(
            arg, client=client, client_query="ttlive-python", user_agent=UA, x_cookie_header=cookie
        )
    elif action == "anchor":
        resp = fetch_webcast_url_by_unique_id.sync_detailed(
            arg, client=client, client_query="ttlive-python", user_agent=UA, x_cookie_header=cookie
        )
    elif action == "limits":
        resp = get_rate_limits.sync_detailed(client=client, type_=RateLimitType.WEBCAST)
    else:
        raise SystemExit(f"unknown action {action!r}")
    parsed = resp.parsed
    out: dict[str, Any] = {
        "status": int(resp.status_code),
        "parsed": type(parsed).__name__,
        "headers": {k.lower(): v for k, v in resp.headers.items()},
    }
    if parsed is not None:
        out["code"] = parsed.code
        out["message"] = _set(getattr(parsed, "message", UNSET))
    if action == "sign" and out["parsed"] == "SignTikTokUrlResponse" and parsed.response is not UNSET:
        r = parsed.response
        out["signed_url"] = _set(r.signed_url)
        out["user_agent"] = _set(r.user_agent)
        out["tokens"] = None if r.tokens is UNSET else r.tokens.to_dict()
    if action == "limits" and out["parsed"] == "GetRateLimits":
        out["windows"] = {name: _window(getattr(parsed, name)) for name in ("minute", "hour", "day")}
    if action in ("room", "anchor") and resp.status_code == 200:
        out["content_b64"] = base64.b64encode(resp.content).decode()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
