"""The request-level guards of issue 7 (defects 3 and 14): body read timeout (408), client disconnects logged
as 499 (not errors), `WWW-Authenticate` on 401s, and the error kind and message on every non-2xx log line."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import uvicorn
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from ttsign.server.app import create_app

OPEN = {"rate_limit_minute": 0, "rate_limit_hour": 0, "rate_limit_day": 0}


def _scope(path: str, headers: list[tuple[bytes, bytes]], method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
    }


async def _call(app: Any, scope: dict[str, Any], messages: list[dict[str, Any]], then: str = "stall") -> list[Any]:
    """Run one request through the ASGI app; after `messages`, `receive` stalls or reports a disconnect."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        if then == "disconnect":
            return {"type": "http.disconnect"}
        await anyio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with anyio.fail_after(5):
        await app(scope, receive, send)
    return sent


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr()
    return [json.loads(line) for line in (out.out + out.err).splitlines() if line.startswith("{")]


async def test_a_stalled_body_gets_a_408_json_within_the_body_timeout(capsys):
    app = create_app(make_settings(body_timeout_s=0.3, log_level="info", **OPEN))
    headers = [(b"content-type", b"application/json"), (b"content-length", b"200")]
    started = time.monotonic()
    sent = await _call(
        app, _scope("/v1/sign", headers), [{"type": "http.request", "body": b'{"url": ', "more_body": True}]
    )
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2.0, elapsed
    start, body = sent[0], sent[1]
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    payload = json.loads(body["body"])
    assert payload["code"] == 408 and "not received within 0.3 s" in payload["message"]
    (line,) = [ln for ln in _lines(capsys) if ln.get("event") == "request"]
    assert line["status"] == 408 and line["error_kind"] == "body_timeout" and line["level"] == "info"


async def test_a_drip_fed_body_is_bounded_by_the_total_timeout_not_per_chunk():
    app = create_app(make_settings(body_timeout_s=0.5, **OPEN))
    sent: list[Any] = []
    chunks = 0

    async def receive() -> dict[str, Any]:
        nonlocal chunks
        await anyio.sleep(0.2)  # under the timeout each time, over it in total
        chunks += 1
        return {"type": "http.request", "body": b" ", "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json"), (b"content-length", b"5000")]
    with anyio.fail_after(3):
        await app(_scope("/v1/sign", headers), receive, send)
    assert sent[0]["status"] == 408 and chunks <= 3


async def test_a_client_that_disconnects_mid_body_is_a_499_at_info_not_an_error(capsys):
    app = create_app(make_settings(log_level="info", **OPEN))
    headers = [(b"content-type", b"application/json"), (b"content-length", b"200")]
    first = {"type": "http.request", "body": b'{"url": "https://www.tiktok.com/api/', "more_body": True}
    sent = await _call(app, _scope("/v1/sign", headers), [first], then="disconnect")
    assert sent == []  # nobody to answer
    lines = _lines(capsys)
    assert not [ln for ln in lines if ln["level"] == "error"], lines
    (line,) = [ln for ln in lines if ln.get("event") == "request"]
    assert line["status"] == 499 and line["level"] == "info" and line["error_kind"] == "client_disconnected"


async def test_a_send_that_fails_because_the_socket_is_gone_is_a_499_not_a_500(capsys):
    app = create_app(make_settings(log_level="info", **OPEN))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        raise ConnectionResetError("peer went away")

    with anyio.fail_after(5):
        await app(_scope("/health", [], method="GET"), receive, send)
    lines = _lines(capsys)
    assert not [ln for ln in lines if ln["level"] == "error"], lines
    (line,) = [ln for ln in lines if ln.get("event") == "request"]
    assert line["status"] == 499


@pytest.fixture
def live_server() -> Iterator[tuple[str, int]]:
    """A real uvicorn (httptools) on 127.0.0.1 serving the app with a 0.5 s body timeout."""
    app = create_app(make_settings(body_timeout_s=0.5, **OPEN))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield sock.getsockname()
    server.should_exit = True
    thread.join(5)
    sock.close()


def test_a_real_socket_that_stalls_after_its_headers_gets_408_and_is_closed(live_server):
    with socket.create_connection(live_server, timeout=5) as s:
        s.sendall(
            b'POST /v1/sign HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"url"'
        )
        started = time.monotonic()
        data = b""
        while chunk := s.recv(65536):  # ends when the server closes the connection
            data += chunk
        elapsed = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408 "), data[:200]
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["code"] == 408
    assert elapsed < 3.0, elapsed


def _keyed_client(**kw: Any) -> TestClient:
    return TestClient(create_app(make_settings(api_keys="right-key-0001", **OPEN, **kw)), raise_server_exceptions=False)


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"Authorization": "Bearer wrong"}])
def test_401_names_the_scheme_in_www_authenticate(headers):
    r = _keyed_client().post("/v1/sign", json={"url": "https://www.tiktok.com/api/x/"}, headers=headers)
    assert r.status_code == 401
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith("ApiKey ") and 'header="X-Api-Key"' in challenge and "Bearer " in challenge


def test_every_non_2xx_log_line_carries_kind_and_message(capsys):
    c = TestClient(create_app(make_settings(log_level="info", **OPEN)), raise_server_exceptions=False)
    capsys.readouterr()
    assert c.post("/v1/sign", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    assert c.post("/v1/sign", content=b"{}", headers={"content-type": "text/html"}).status_code == 415
    assert c.get("/no/such/route").status_code == 404
    assert c.post("/v1/sign", json={"url": 1}).status_code == 422
    assert c.get("/health").status_code == 200
    lines = [ln for ln in _lines(capsys) if ln.get("event") == "request"]
    by_status = {ln["status"]: ln for ln in lines}
    assert by_status[400]["error_kind"] == "bad_request" and "not valid JSON" in by_status[400]["error"]
    assert by_status[415]["error_kind"] == "unsupported_media_type" and "application/json" in by_status[415]["error"]
    assert by_status[404]["error_kind"] == "not_found" and "no such route" in by_status[404]["error"]
    assert by_status[404]["path"] == "/no/such/route"
    assert by_status[422]["error_kind"] == "invalid_field" and "'url'" in by_status[422]["error"]
    assert "error_kind" not in by_status[200] and "error" not in by_status[200]


@pytest.mark.parametrize("rid", [b"abc\n", b"abc\r\nSet-Cookie: x=1", b"a" * 65, b"x y", b"\xff"])
async def test_a_hostile_request_id_is_replaced_not_echoed(rid):
    app = create_app(make_settings(**OPEN))
    sent = await _call(app, _scope("/health", [(b"x-request-id", rid)], method="GET"), [])
    echoed = dict(sent[0]["headers"])[b"x-request-id"]
    assert echoed != rid and len(echoed) == 32 and echoed.isalnum()
