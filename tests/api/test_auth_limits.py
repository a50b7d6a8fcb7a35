"""API keys, rate limits (429 shape both clients parse), and secrets staying out of logs."""

from __future__ import annotations

import json
import time

import pytest

from ttsign.server.auth import check_key, is_loopback

ROOM = "https://www.tiktok.com/@someone/live"
# Open mode leaves the signing routes unlimited unless TTSIGN_OPEN_RATE_LIMIT (tests/api/test_open_mode_limits.py);
# these tests are about the limits themselves, so they turn it on.
LIMITED = {"open_rate_limit": True}


def _sign(client, **headers):
    return client.post("/signature", content=ROOM, headers={"content-type": "text/plain", **headers})


def test_keys_required_when_configured(make_client):
    c = make_client(api_keys="k-one,k-two")
    r = _sign(c)
    assert r.status_code == 401 and "X-Api-Key" in r.json()["message"]
    assert _sign(c, **{"X-Api-Key": "wrong"}).status_code == 401
    assert _sign(c, **{"X-Api-Key": "k-one"}).status_code == 200
    assert _sign(c, Authorization="Bearer k-two").status_code == 200
    assert c.get("/health").status_code == 200  # health stays public


def test_keys_file(make_client, tmp_path):
    f = tmp_path / "keys"
    f.write_text("# comment\nfile-key\n")
    c = make_client(api_keys_file=str(f))
    assert _sign(c, **{"X-Api-Key": "file-key"}).status_code == 200
    assert _sign(c, **{"X-Api-Key": "other"}).status_code == 401


def test_check_key_constant_time_semantics():
    keys = frozenset({"abc", "defg"})
    assert check_key("abc", keys) and check_key("defg", keys)
    assert not check_key("ab", keys) and not check_key("abcd", keys) and not check_key("", keys)


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_429_shape_and_headers(make_client):
    c = make_client(rate_limit_minute=3, rate_limit_hour=0, rate_limit_day=0, **LIMITED)
    for _ in range(3):
        assert _sign(c).status_code == 200
    r = _sign(c)
    assert r.status_code == 429
    body = r.json()
    assert body["code"] == 429 and body["limit_label"] == "rate_limit_minute"
    assert len(body["message"]) >= 19
    remaining = int(r.headers["RateLimit-Remaining"])
    assert 1 <= remaining <= 60
    assert int(r.headers["Retry-After"]) == remaining
    reset = int(r.headers["RateLimit-Reset"])
    assert abs(reset - (time.time() + remaining)) <= 2
    assert r.headers["X-RateLimit-Reset"] == r.headers["RateLimit-Reset"]
    # the limit is per caller key: another key is not affected
    c2 = make_client(rate_limit_minute=1, rate_limit_hour=0, rate_limit_day=0, api_keys="a,b")
    assert _sign(c2, **{"X-Api-Key": "a"}).status_code == 200
    assert _sign(c2, **{"X-Api-Key": "a"}).status_code == 429
    assert _sign(c2, **{"X-Api-Key": "b"}).status_code == 200


def test_rate_limits_route_reports_usage(make_client):
    c = make_client(rate_limit_minute=10, rate_limit_hour=100, rate_limit_day=0, **LIMITED)
    _sign(c)
    _sign(c)
    r = c.get("/webcast/rate_limits")
    assert r.status_code == 200
    limits = {x["label"]: x for x in r.json()["limits"]}
    assert set(limits) == {"rate_limit_minute", "rate_limit_hour"}
    assert limits["rate_limit_minute"]["used"] == 2 and limits["rate_limit_minute"]["remaining"] == 8
    assert limits["rate_limit_hour"]["limit"] == 100


def test_refused_call_does_not_drain_other_windows(make_client):
    c = make_client(rate_limit_minute=1, rate_limit_hour=5, rate_limit_day=0, **LIMITED)
    _sign(c)
    for _ in range(3):
        assert _sign(c).status_code == 429
    hour = {x["label"]: x for x in c.get("/webcast/rate_limits").json()["limits"]}["rate_limit_hour"]
    assert hour["used"] == 1


@pytest.mark.parametrize("secret_header", ["X-Api-Key", "Cookie", "Authorization"])
def test_secrets_never_logged(make_client, capsys, secret_header):
    c = make_client(api_keys="supersecretkey123", log_level="info")
    headers = {"X-Api-Key": "supersecretkey123", "content-type": "application/json"}
    if secret_header != "X-Api-Key":
        headers[secret_header] = "sessionid=SESSIONSECRET999; Bearer supersecretkey123"
    c.post(
        "/webcast/sign_url",
        headers=headers,
        content=json.dumps(
            {
                "url": "https://webcast.tiktok.com/webcast/gift/list/?aid=1988&sessionid=SESSIONSECRET999",
                "sessionId": "SESSIONSECRET999",
            }
        ),
    )
    c.post("/webcast/sign_url", headers={"X-Api-Key": "wrong-supersecretkey123"}, content=b"{}")
    out = capsys.readouterr()
    logs = out.out + out.err
    assert '"route": "/webcast/sign_url"' in logs or "/webcast/sign_url" in logs  # we did log the requests
    assert "supersecretkey123" not in logs
    assert "SESSIONSECRET999" not in logs


def test_metric_labels_are_route_templates_not_raw_paths(make_client):
    c = make_client(rate_limit_minute=1, rate_limit_hour=0, rate_limit_day=0)
    c.get("/webcast/rooms/123/connect", params={"platform": "mobile"})  # 400 before any upstream call
    c.get("/webcast/rooms/456/connect")  # 429: refused before routing
    c.get("/random/path/abc123")
    text = c.get("/metrics").text
    assert 'route="/webcast/rooms/{room_id}/connect"' in text
    assert 'ttsign_rate_limited_total{limit="rate_limit_minute",route="/webcast/rooms/{room_id}/connect"}' in text
    # (bare "456" can occur inside a sample value, e.g. a latency sum, so look for it in label position)
    assert "/456/" not in text and "abc123" not in text
