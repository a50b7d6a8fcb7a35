"""Failed API-key attempts are throttled per client address (issue 7, defect 12).

Today's numbers before the fix: 1,392 wrong keys a second, every one a 401, never a 429. Now past
`auth_failures_per_minute` wrong keys, every request from that address that needs a key is a 429 JSON with
`Retry-After` until its budget refills, even with the right key (see ttsign/server/auth_throttle.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from ttsign.server.app import create_app
from ttsign.server.auth_throttle import AuthThrottle
from ttsign.server.errors import ApiError
from ttsign.store.memory import MemoryRateStore

KEY = "right-key-0001"
URL = "https://www.tiktok.com/api/user/detail/?aid=1988"
NO_RATE_LIMITS = {"rate_limit_minute": 0, "rate_limit_hour": 0, "rate_limit_day": 0}


def _client(client_addr: str = "203.0.113.7", **kw: Any) -> TestClient:
    settings = make_settings(api_keys=KEY, **{**NO_RATE_LIMITS, **kw})
    return TestClient(create_app(settings), raise_server_exceptions=False, client=(client_addr, 50000))


def _sign(c: TestClient, key: str | None) -> Any:
    return c.post("/v1/sign", json={"url": URL}, headers={"X-Api-Key": key} if key else {})


def test_wrong_keys_past_the_limit_get_429_with_retry_after():
    c = _client(auth_failures_per_minute=5)
    statuses = [_sign(c, f"guess-{i}").status_code for i in range(20)]
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429] * 15
    r = _sign(c, "guess-again")
    body = r.json()
    assert body["code"] == 429 and len(body["message"]) >= 19 and "failed API-key attempts" in body["message"]
    assert body["limit_label"] == "auth_failures"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["RateLimit-Remaining"] == r.headers["Retry-After"]


def test_a_throttled_address_gets_429_even_with_the_right_key_and_public_paths_stay_open():
    c = _client(auth_failures_per_minute=3)
    for i in range(3):
        assert _sign(c, f"guess-{i}").status_code == 401
    assert _sign(c, KEY).status_code == 429
    assert _sign(c, None).status_code == 429
    assert c.get("/health").status_code == 200


def test_the_throttle_is_per_address():
    app = create_app(make_settings(api_keys=KEY, auth_failures_per_minute=2, **NO_RATE_LIMITS))
    attacker = TestClient(app, raise_server_exceptions=False, client=("198.51.100.1", 1))
    other = TestClient(app, raise_server_exceptions=False, client=("198.51.100.2", 1))
    for i in range(4):
        _sign(attacker, f"guess-{i}")
    assert _sign(attacker, KEY).status_code == 429
    assert _sign(other, KEY).status_code == 200


def test_right_keys_and_missing_keys_are_not_counted_as_guesses():
    c = _client(auth_failures_per_minute=2)
    for _ in range(10):
        assert _sign(c, KEY).status_code == 200
        assert _sign(c, None).status_code == 401
    assert _sign(c, "guess").status_code == 401


def test_zero_turns_the_throttle_off():
    c = _client(auth_failures_per_minute=0)
    assert {_sign(c, f"guess-{i}").status_code for i in range(50)} == {401}


def test_the_budget_refills_over_the_minute():
    now = [1000.0]
    throttle = AuthThrottle(MemoryRateStore(), 6, clock=lambda: now[0])
    for _ in range(6):
        throttle.check("a")
        throttle.failed("a")
    with pytest.raises(ApiError) as info:
        throttle.check("a")
    assert info.value.status == 429
    assert info.value.headers["Retry-After"] == "10"  # one attempt back every 60/6 s
    now[0] += 10.0
    throttle.check("a")  # one attempt back
    throttle.failed("a")
    now[0] += 60.0
    for _ in range(6):
        throttle.check("a")
        throttle.failed("a")
