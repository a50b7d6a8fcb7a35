"""Issue 14, item 6: open mode no longer throttles its own user.

With no keys (open mode, loopback only) the signing routes are not rate limited, so a local scraper is
never answered 429 for signing, which costs the server microseconds; the connect and room routes keep
the per-address limit. With keys, each key gets the server's limits or its own from the keys file.
`TTSIGN_OPEN_RATE_LIMIT=true` brings the per-address limit on signing back.

Before the fix: the 120/min default answered 429 from the 121st request of a burst, and a scraper at 10 req/s
against a 20/min limit got its first 429 within the first 3 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

ROOM = "https://www.tiktok.com/@someone/live"
API_URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30"
SIGNING_CALLS: dict[str, dict[str, Any]] = {
    "/signature": {"content": ROOM, "headers": {"content-type": "text/plain"}},
    "/sign": {"json": {"url": API_URL}},
    "/webcast/sign_url": {"json": {"url": "https://webcast.tiktok.com/webcast/gift/list/?aid=1988"}},
    "/tiktok/sign_url": {"json": {"url": API_URL, "method": "GET"}},
    "/v1/sign": {"json": {"url": API_URL}},
    "/v1/decode": {"json": {"token": "not-a-token"}},  # a 400, but it is counted (or not) all the same
}
CONNECT = "/webcast/rooms/7451234567890123456/connect?platform=mobile"  # 400 before any call to TikTok


def _signature(c: TestClient, key: str | None = None) -> int:
    headers = {"content-type": "text/plain", **({"X-Api-Key": key} if key else {})}
    return c.post("/signature", content=ROOM, headers=headers).status_code


def test_a_local_scraper_at_10_per_second_for_3_s_gets_no_429(make_client: Callable[..., TestClient]) -> None:
    c = make_client(rate_limit_minute=20)  # a pace of 10/s used this up within the first 3 s before the fix
    statuses = []
    started = time.monotonic()
    for i in range(30):
        time.sleep(max(0.0, started + i / 10 - time.monotonic()))
        statuses.append(_signature(c))
    assert time.monotonic() - started >= 2.9
    assert statuses == [200] * 30


def test_the_default_limits_do_not_stop_a_burst_of_signing(make_client: Callable[..., TestClient]) -> None:
    c = make_client()  # 120 / 3000 / 30000
    assert {_signature(c) for _ in range(300)} == {200}


@pytest.mark.parametrize("path", sorted(SIGNING_CALLS))
def test_no_signing_route_is_limited_in_open_mode(make_client: Callable[..., TestClient], path: str) -> None:
    c = make_client(rate_limit_minute=1, rate_limit_hour=1, rate_limit_day=1)
    statuses = {c.post(path, **SIGNING_CALLS[path]).status_code for _ in range(4)}
    assert 429 not in statuses and statuses <= {200, 400}


def test_connect_routes_keep_the_per_address_limit_in_open_mode(make_client: Callable[..., TestClient]) -> None:
    c = make_client(rate_limit_minute=2, rate_limit_hour=0, rate_limit_day=0)
    statuses = [c.get(CONNECT).status_code for _ in range(4)]
    assert statuses == [400, 400, 429, 429]
    for _ in range(5):  # signing does not use up the connect budget, nor is it refused once that is gone
        assert _signature(c) == 200
    limits = {x["label"]: x for x in c.get("/webcast/rate_limits").json()["limits"]}
    assert limits["rate_limit_minute"]["used"] == 2


def test_open_rate_limit_setting_brings_the_per_address_limit_back(make_client: Callable[..., TestClient]) -> None:
    c = make_client(rate_limit_minute=3, rate_limit_hour=0, rate_limit_day=0, open_rate_limit=True)
    assert [_signature(c) for _ in range(5)] == [200, 200, 200, 429, 429]
    r = c.post("/v1/sign", json={"url": API_URL})
    assert (
        r.status_code == 429 and r.json()["limit_label"] == "rate_limit_minute" and int(r.headers["Retry-After"]) >= 1
    )


def test_open_rate_limit_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from ttsign.config import Settings

    assert Settings().open_rate_limit is False
    monkeypatch.setenv("TTSIGN_OPEN_RATE_LIMIT", "true")
    assert Settings().open_rate_limit is True


def test_with_keys_signing_routes_are_limited_per_key(make_client: Callable[..., TestClient]) -> None:
    c = make_client(api_keys="key-a-0001,key-b-0001", rate_limit_minute=2, rate_limit_hour=0, rate_limit_day=0)
    assert [_signature(c, "key-a-0001") for _ in range(3)] == [200, 200, 429]
    assert [_signature(c, "key-b-0001") for _ in range(3)] == [200, 200, 429]


def test_a_keys_file_gives_keys_their_own_limits(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(
        "# overlay: tight; scraper: generous per minute, hour from the server; plain: the server's\n"
        "key-overlay-01   minute=1\n"
        "key-scraper-01   minute=6 day=0\n"
        "key-plain-0001\n"
    )
    c = make_client(api_keys_file=str(keys), rate_limit_minute=3, rate_limit_hour=100, rate_limit_day=0)
    assert [_signature(c, "key-overlay-01") for _ in range(3)] == [200, 429, 429]
    assert [_signature(c, "key-scraper-01") for _ in range(8)] == [200] * 6 + [429] * 2
    assert [_signature(c, "key-plain-0001") for _ in range(5)] == [200] * 3 + [429] * 2
    r = c.post("/signature", content=ROOM, headers={"content-type": "text/plain", "X-Api-Key": "key-overlay-01"})
    assert r.headers["RateLimit-Limit"] == "1"
    own = c.get("/webcast/rate_limits", headers={"X-Api-Key": "key-scraper-01"}).json()["limits"]
    assert {x["label"]: x["limit"] for x in own} == {"rate_limit_minute": 6, "rate_limit_hour": 100}


def test_a_bad_keys_file_line_stops_the_app_with_one_line(tmp_path: Path) -> None:
    from tests.api.conftest import make_settings
    from ttsign.api_keys import ApiKeysError
    from ttsign.server.app import create_app

    keys = tmp_path / "keys"
    keys.write_text("good-key-0001\nkey-two-0001 minute=lots\n")
    with pytest.raises(ApiKeysError) as info:
        create_app(make_settings(api_keys_file=str(keys)))
    assert "line 2" in str(info.value) and "minute='lots'" in str(info.value) and "\n" not in str(info.value)
