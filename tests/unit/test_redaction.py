"""Secrets never reach a log line, on error paths included (issue 7, defect 10).

Before the fix a 500's error line carried the caller's `msToken`, `csrf_token=` and `sid_ucp_v1=` values,
and the suite still passed with `redact()` made a no-op, because no test drove a secret into a log line.
Here real requests carrying secrets in the query, the headers, the cookies and the JSON body hit real
error paths (a route raising, a 502/503 from an unreachable upstream, 400s, a 401, a logged traceback, a
uvicorn-style stdlib line); the captured output must hold none of them. `test_the_same_run_leaks_...`
is the meta-assertion: the very same run with redaction switched off must leak every secret, so the
first test cannot pass by not exercising anything.
"""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import pytest
from fastapi import Request
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from ttsign.server import logs
from ttsign.server.app import create_app, make_signer
from ttsign.server.errors import ApiError

MARK = "SEKRIT"  # every secret below holds it, so a partial leak is caught too
API_KEY = "apikey-SEKRIT-01"
SECRETS = {
    "api key": API_KEY,
    "wrong api key": "wrongkey-SEKRIT-02",
    "sessionid cookie": "SEKRIT03sessioncookie",
    "sid_ucp_v1 cookie": "1.0.0-SEKRIT04ucp",
    "csrf_token cookie": "SEKRIT05csrf",
    "ttwid cookie": "1%7CSEKRIT06ttwid%7C1700000000",
    "odin_tt cookie": "SEKRIT07odin",
    "msToken cookie": "SEKRIT08mstokencookie",
    "x-cookie-header": "SEKRIT09xcookie",
    "bearer token": "SEKRIT11bearer",
    "msToken query": "SEKRIT12msquery",
    "session_id query": "SEKRIT13sessquery",
    "ms_token json": "SEKRIT14msjson",
    "sessionId json": "SEKRIT15sessjson",
    "ttTargetIdc json": "SEKRIT16idc",
    "passport_csrf_token cookie": "SEKRIT17pcsrf",
}
S = SECRETS
COOKIE = (
    f"sessionid={S['sessionid cookie']}; sid_ucp_v1={S['sid_ucp_v1 cookie']}; csrf_token={S['csrf_token cookie']}; "
    f"ttwid={S['ttwid cookie']}; odin_tt={S['odin_tt cookie']}; msToken={S['msToken cookie']}; "
    f"passport_csrf_token={S['passport_csrf_token cookie']}; tiktok_webapp_theme=light"
)
HEADERS = {
    "X-Api-Key": API_KEY,
    "Cookie": COOKIE,
    "x-cookie-header": f"sessionid_ss={S['x-cookie-header']}",
    "Proxy-Authorization": f"Bearer {S['bearer token']}",
}
NEVER_LOGGED = {"wrong api key"}  # a 401 logs no header at all, so even with redaction off it never appears
QUERY = f"msToken={S['msToken query']}&session_id={S['session_id query']}&aid=1988"
BODY = {
    "url": f"https://www.tiktok.com/api/user/detail/?aid=1988&msToken={S['msToken query']}",
    "ms_token": S["ms_token json"],
    "sessionId": S["sessionId json"],
    "ttTargetIdc": S["ttTargetIdc json"],
}


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


class BrokenSigner:
    """A signer that fails with the caller's msToken in its message (not in a name=value shape)."""

    def __init__(self) -> None:
        self._real = make_signer(make_settings())
        self.default_preset = self._real.default_preset
        self.options = self._real.options

    def sign(self, url: Any, method: str, body: Any, user_agent: Any, ms_token: Any) -> Any:
        raise RuntimeError(f"signing failed, TikTok rejected {ms_token} for this caller")


def _app() -> Any:
    base = _closed_port()
    settings = make_settings(
        log_level="info",
        api_keys=API_KEY,
        rate_limit_minute=0,
        rate_limit_hour=0,
        rate_limit_day=0,
        tiktok_www=base,
        ttwid_url=f"{base}/ttwid/union/register/",
        webcast_url=f"{base}/webcast",
        ws_url=base.replace("http", "ws") + "/webcast/im/ws_proxy/ws_reuse_supplement/",
        upstream_timeout_s=2.0,
    )
    app = create_app(settings, signer=BrokenSigner())  # type: ignore[arg-type]

    async def boom(request: Request) -> None:
        body = await request.body()
        raise RuntimeError(f"boom: headers={dict(request.headers)} url={request.url} body={body!r}")

    async def logged(request: Request) -> None:
        try:
            raise ValueError(f"the caller's cookie was {request.headers['cookie']}")
        except ValueError:
            logs.get_logger("ttsign.test").exception("route_failed", cookie_header=request.headers["cookie"])
        logging.getLogger("uvicorn.error").error("Exception in ASGI application for %s", request.url)
        raise ApiError(502, "TikTok upstream failed (test)")

    app.add_api_route("/boom", boom, methods=["POST"])
    app.add_api_route("/logged", logged, methods=["GET"])
    return app


def _run(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> tuple[str, dict[str, int]]:
    """Drive every error path with secrets; returns all captured log output and the statuses seen."""
    caplog.set_level(logging.INFO)
    capsys.readouterr()
    statuses: dict[str, int] = {}
    with TestClient(_app(), raise_server_exceptions=False) as c:
        statuses["route raising"] = c.post(f"/boom?{QUERY}", json=BODY, headers=HEADERS).status_code
        statuses["signer raising"] = c.post(f"/v1/sign?{QUERY}", json=BODY, headers=HEADERS).status_code
        statuses["upstream down"] = c.get(
            f"/webcast/fetch?room_id=7451234567890123456&{QUERY}", headers=HEADERS
        ).status_code
        statuses["bad room id"] = c.get(f"/webcast/fetch?room_id=nope&{QUERY}", headers=HEADERS).status_code
        statuses["bad method"] = c.post(
            f"/webcast/sign_url?{QUERY}", json={**BODY, "method": "FETCH"}, headers=HEADERS
        ).status_code
        statuses["wrong key"] = c.post(
            f"/v1/sign?{QUERY}", json=BODY, headers={**HEADERS, "X-Api-Key": S["wrong api key"]}
        ).status_code
        statuses["bearer"] = c.post(
            "/nope", headers={"Authorization": f"Bearer {S['bearer token']}", "Cookie": COOKIE}
        ).status_code
        statuses["traceback"] = c.get(f"/logged?{QUERY}", headers=HEADERS).status_code
    out = capsys.readouterr()
    return out.out + out.err + caplog.text, statuses


def _check_paths_were_hit(statuses: dict[str, int]) -> None:
    assert statuses["route raising"] == 500 and statuses["signer raising"] == 503  # the chain: no provider signed
    assert statuses["upstream down"] in (502, 503, 504)
    assert statuses["bad room id"] == 400 and statuses["bad method"] == 400
    assert statuses["wrong key"] == 401 and statuses["bearer"] == 401 and statuses["traceback"] == 502


def test_no_secret_reaches_any_log_line(capsys, caplog):
    text, statuses = _run(capsys, caplog)
    _check_paths_were_hit(statuses)
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert len([ln for ln in lines if ln.get("event") == "request"]) == len(statuses)  # every request was logged
    assert [ln for ln in lines if ln.get("event") == "unhandled_error"]  # the 500s' error lines are there
    assert any("Traceback" in str(ln.get("exception", "")) for ln in lines)  # and the traceback
    leaked = {name for name, value in SECRETS.items() if value in text}
    assert not leaked, leaked
    assert MARK not in text, [line for line in text.splitlines() if MARK in line][:3]


def test_the_same_run_leaks_every_secret_when_redaction_is_off(capsys, caplog, monkeypatch):
    monkeypatch.setattr(logs, "redact", lambda _logger, _method, event: event)
    monkeypatch.setattr(logs.RedactFilter, "filter", lambda self, record: True)
    text, statuses = _run(capsys, caplog)
    _check_paths_were_hit(statuses)
    missing = {name for name, value in SECRETS.items() if value not in text} - NEVER_LOGGED
    assert not missing, f"these secrets never reached a log line, so the test above proves nothing for them: {missing}"


@pytest.mark.parametrize(
    "name",
    [
        "msToken",
        "ms_token",
        "ttwid",
        "sessionid",
        "sessionid_ss",
        "session_id",
        "sessionId",
        "sid_tt",
        "sid_guard",
        "sid_ucp_v1",
        "ssid_ucp_v1",
        "uid_tt",
        "uid_tt_ss",
        "csrf_token",
        "tt_csrf_token",
        "passport_csrf_token",
        "passport_auth_status",
        "odin_tt",
        "cmpl_token",
        "multi_sids",
        "tt-target-idc",
        "ttTargetIdc",
        "tt_chain_token",
        "api_key",
        "X-Api-Key",
        "authorization",
        "cookie",
        "x-cookie-header",
        "X-Set-TT-Cookie",
        "x-oauth-token",
        "store-country-sign",
    ],
)
def test_secret_names(name):
    assert logs.is_secret_name(name)
    value = "v4lue-of-" + name
    for shape in (f"{name}={value}&a=1", f"a=1; {name}={value}", f'{{"{name}": "{value}"}}', f"('{name}', '{value}')"):
        assert value not in logs.scrub(shape), shape
    assert logs.redact(None, "", {name: value}) == {name: "***"}


@pytest.mark.parametrize("name", ["aid", "room_id", "device_id", "route", "status", "caller", "browser_name", "url"])
def test_plain_names_are_kept(name):
    assert not logs.is_secret_name(name)
    assert logs.scrub(f"{name}=keep-me-123") == f"{name}=keep-me-123"


@pytest.mark.parametrize(
    "text",
    [
        "url=https%3A%2F%2Fwww.tiktok.com%2Fapi%2F%3FmsToken%3DHIDDEN1%26aid%3D1988",  # percent-encoded once
        "u=https%253A%252F%252Fx%252F%253FmsToken%253DHIDDEN1%2526a%253D1",  # twice
        "Authorization: Bearer HIDDEN1",
        "Basic HIDDEN1==",
        '\\"msToken\\": \\"HIDDEN1\\"',  # JSON inside a JSON string
        "[(b'x-api-key', b'HIDDEN1')]",  # an ASGI header list's repr
        "x-api-key: HIDDEN1",
    ],
)
def test_scrub_shapes(text):
    assert "HIDDEN1" not in logs.scrub(text)


def test_nested_values_and_exact_request_secrets_are_masked():
    token = logs.begin_request(["exact-secret-value"])
    try:
        event = {
            "event": "x",
            "data": {"headers": {"Cookie": "a=b"}, "items": [{"ttwid": "t0ken1"}, ("free text exact-secret-value",)]},
            "exc": ValueError("wrapped exact-secret-value"),
            "blob": b"sessionid=abcdef",
        }
        got = logs.redact(None, "", event)
    finally:
        logs.end_request(token)
    text = json.dumps(got)
    assert "exact-secret-value" not in text and "t0ken1" not in text and "abcdef" not in text
    assert got["event"] == "x" and got["data"]["headers"]["Cookie"] == "***"
    assert logs.redact(None, "", {"event": "exact-secret-value"})["event"] == "exact-secret-value"  # request over


def test_a_caller_cannot_blank_out_the_fields_that_identify_its_request():
    token = logs.begin_request(["request", "/v1/sign", "abcdef0123"])
    try:
        got = logs.redact(None, "", {"event": "request", "route": "/v1/sign", "request_id": "abcdef0123", "error": "x"})
    finally:
        logs.end_request(token)
    assert got == {"event": "request", "route": "/v1/sign", "request_id": "abcdef0123", "error": "x"}
