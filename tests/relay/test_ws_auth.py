"""Auth of the relay's WebSockets and streams (issue 12): WebSocket scopes get the API-key check HTTP has (a
refusal is a close with 4401, 4403 for a token of another room, 4429 when the address used up its failed
attempts), `apiKey` in the query is accepted on a WebSocket (Euler's SDK sends it there), and the relay paths
take `?token=` (room tokens). Keys and tokens never reach a log line: uvicorn's own `WebSocket ...` line
included. The landing page at `/` stays public while the Euler socket at `/` is keyed.

Auth passing is seen as the hub's answer for the offline user (4404 "not live": the room lookup ran), auth
failing as 4401/4403 before any lookup (the fake counts none).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
import websockets
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import make_settings
from tests.e2e.conftest import free_port
from tests.fakes.tiktok import FAKE_USER, OFFLINE_USER, FakeTikTok
from ttsign.relay.tokens import RoomTokens
from ttsign.server import logs
from ttsign.server.app import create_app

KEY = "ws-auth-test-key-0123456789abcdef"
SECRET = "ws-auth-token-secret-0123456789"


def settings_for(fake: FakeTikTok, **extra: Any) -> Any:
    return make_settings(
        api_keys=KEY,
        token_secret=SECRET,
        tiktok_www=fake.base_url,
        ttwid_url=fake.ttwid_url,
        webcast_url=fake.webcast_url,
        ws_url=fake.ws_url,
        upstream_timeout_s=3.0,
        relay_grace_s=0.0,
        **extra,
    )


def token(room: str, *, ttl: int = 60, clock: Any = time.time) -> str:
    return RoomTokens.from_settings(make_settings(token_secret=SECRET), clock=clock).issue(room, ttl, "key:test")[0]


@pytest.fixture
def app_client(fake: FakeTikTok) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(**extra: Any) -> TestClient:
        c = TestClient(create_app(settings_for(fake, **extra)), raise_server_exceptions=False)
        c.__enter__()  # one event loop (and the lifespan) for every request: the hub's rooms live in it
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def close_code(client: TestClient, url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """The close code and reason a WebSocket at `url` ends with (reading whatever it sends first)."""
    with client.websocket_connect(url, headers=headers or {}) as ws:
        try:
            while True:
                ws.receive_text()
        except WebSocketDisconnect as exc:
            return exc.code, exc.reason or ""
    raise AssertionError("the socket did not close")


def lookups(fake: FakeTikTok) -> int:
    return sum(1 for r in fake.state()["requests"] if r["path"].startswith(("/api-live/", "/@")))


EULER = "/?uniqueId="
ROOM_WS = "/v1/rooms/{}/ws"


@pytest.mark.parametrize("path", ["euler", "room_ws"])
def test_a_socket_without_a_valid_key_is_closed_4401(app_client, fake, path):
    client = app_client()
    url = EULER + OFFLINE_USER if path == "euler" else ROOM_WS.format(OFFLINE_USER)
    sep = "&" if "?" in url else "?"
    for attempt in (url, url + sep + "apiKey=wrong-key-0123456789", url + sep + "token=tt1.forged.token"):
        code, reason = close_code(client, attempt)
        assert code == 4401, (attempt, code, reason)
        assert "key" in reason or "token" in reason
    assert lookups(fake) == 0  # refused before the hub looked the room up


@pytest.mark.parametrize("path", ["euler", "room_ws"])
def test_a_right_key_in_the_header_or_the_query_opens_it(app_client, fake, path):
    client = app_client()
    url = EULER + OFFLINE_USER if path == "euler" else ROOM_WS.format(OFFLINE_USER)
    sep = "&" if "?" in url else "?"
    assert close_code(client, url, {"X-Api-Key": KEY})[0] == 4404  # auth passed: TikTok says not live
    assert close_code(client, url + sep + "apiKey=" + KEY)[0] == 4404
    assert lookups(fake) >= 2


def test_room_tokens_open_only_their_room(app_client, fake):
    client = app_client()
    offline = token(OFFLINE_USER)
    assert close_code(client, f"{EULER}{OFFLINE_USER}&jwtKey={offline}")[0] == 4404  # Euler's per-creator credential
    assert close_code(client, f"{EULER}@{OFFLINE_USER.upper()}&token={offline}")[0] == 4404  # normalised like Euler
    assert close_code(client, ROOM_WS.format(OFFLINE_USER) + "?token=" + offline)[0] == 4404
    before = lookups(fake)
    code, reason = close_code(client, f"{EULER}{FAKE_USER}&token={offline}")
    assert code == 4403 and "another room" in reason  # Euler's "no permission"
    assert close_code(client, ROOM_WS.format(FAKE_USER) + "?token=" + offline)[0] == 4403
    expired = token(OFFLINE_USER, ttl=5, clock=lambda: time.time() - 10)
    code, reason = close_code(client, f"{EULER}{OFFLINE_USER}&token={expired}")
    assert code == 4401 and "expired" in reason
    assert lookups(fake) == before


def test_an_http_relay_path_takes_a_token_for_its_room_only(app_client, fake):
    client = app_client()
    mine = token(OFFLINE_USER)
    got = client.get(f"/v1/rooms/{OFFLINE_USER}/events?token={mine}")
    assert got.status_code == 404, got.text  # auth passed, the room is not live
    for bad in (token(FAKE_USER), mine[:-4] + "AAAA", token(OFFLINE_USER, ttl=1, clock=lambda: time.time() - 5)):
        got = client.get(f"/v1/rooms/{OFFLINE_USER}/events?token={bad}")
        assert got.status_code == 401 and got.json()["code"] == 401 and got.headers["www-authenticate"], got.text
    assert client.get("/v1/rooms/" + OFFLINE_USER, params={"token": mine}).status_code == 401  # not a relay path
    assert client.get("/health").status_code in (200, 503) and client.get("/").status_code == 200  # still public


def test_failed_attempts_on_sockets_are_throttled_4429(app_client, fake):
    client = app_client(auth_failures_per_minute=3)
    codes = [close_code(client, EULER + OFFLINE_USER + "&apiKey=wrong-key-0123456789")[0] for _ in range(5)]
    assert codes[:3] == [4401, 4401, 4401] and codes[3:] == [4429, 4429], codes


class _Server:
    """ttsign on uvicorn with its own log config at info (uvicorn logs each WebSocket with its query)."""

    def __init__(self, settings: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_config=logs.uvicorn_log_config("info", True),
            log_level="info",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


async def _close_of(url: str) -> int:
    async with websockets.connect(url, open_timeout=5) as ws:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    return int(ws.close_code or 0)


def test_keys_and_tokens_never_logged(fake, capfd):
    settings = settings_for(fake, log_level="info", log_json=True)
    logs.configure("info", True)
    tok = token(OFFLINE_USER)
    wrong_key = "wrong-key-abcdef0123456789"
    jwt = token(FAKE_USER)
    with _Server(settings) as srv:
        base = f"ws://127.0.0.1:{srv.port}"
        codes = [
            asyncio.run(_close_of(f"{base}/?uniqueId={OFFLINE_USER}&apiKey={KEY}")),
            asyncio.run(_close_of(f"{base}/?uniqueId={OFFLINE_USER}&apiKey={wrong_key}")),
            asyncio.run(_close_of(f"{base}/?uniqueId={OFFLINE_USER}&token={tok}")),
            asyncio.run(_close_of(f"{base}/?uniqueId={OFFLINE_USER}&jwtKey={jwt}")),
            asyncio.run(_close_of(f"{base}/v1/rooms/{OFFLINE_USER}/ws?token={tok}")),
        ]
    assert codes == [4404, 4401, 4404, 4403, 4404]
    out = capfd.readouterr()
    text = out.out + out.err
    assert "WebSocket /?uniqueId=" in text and "euler_ws" in text  # uvicorn's line and ours were logged
    for secret in (KEY, wrong_key, tok, jwt, tok.split(".")[2], jwt.split(".")[2]):
        assert secret not in text, secret


@pytest.mark.parametrize("name", ["apiKey", "jwtKey", "token"])
def test_the_query_names_euler_and_the_relay_use_are_masked_by_name(name):
    # the by-name rule alone (the test above also has the request's own values registered)
    line = f'127.0.0.1:5 - "WebSocket /?uniqueId=someone&{name}=SECRET-VALUE-0123456789&x=1" [accepted]'
    assert "SECRET-VALUE" not in logs.scrub(line) and "uniqueId=someone" in logs.scrub(line)
