"""The Euler-compatible WebSocket against Euler's own SDK (`@eulerstream/euler-websocket-sdk` 0.0.6, unmodified,
lockfile in `tests/e2e/node-euler-ws/`, driven by `euler_ws.mjs` there): the SDK builds its URL from
`EULER_WS_URL` and its own decoders read every frame ttsign sends, in both encodings; its close-code paths for
not-live (4404), stream end (4005), bad auth (4401), bad options (4400), max lifetime (4555), too many
connections (4429) and silence (4006, the session's loop: the SDK's minimum is 30 s). The events are
the offline fake's: the ones it pushes on connect (a join, two chats, a gift, a like) and scripted frames
(`tests/fakes/frames.py`) pushed while the SDK is connected.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import make_settings
from tests.e2e.conftest import ttsign_server  # noqa: F401  (the fixture)
from tests.fakes import frames
from tests.fakes.tiktok import CHAT_TEXTS, FAKE_ROOM_ID, FAKE_USER, GIFT, LIKE_COUNT, OFFLINE_USER, FakeTikTok
from ttsign.relay.euler_options import EulerOptions
from ttsign.relay.events import RelayEvent
from ttsign.server.app import create_app
from ttsign.server.routes.euler_ws import CLOSE_NO_MESSAGES, EulerSession
from ttsign.tiktok import proto

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "e2e" / "node-euler-ws"
KEY = "euler-ws-test-key-0123456789"
TIMEOUT_S = 20


def settings_for(fake: FakeTikTok, **extra: Any) -> dict[str, Any]:
    return {
        "api_keys": KEY,
        "tiktok_www": fake.base_url,
        "ttwid_url": fake.ttwid_url,
        "webcast_url": fake.webcast_url,
        "ws_url": fake.ws_url,
        "upstream_timeout_s": 3.0,
        "relay_grace_s": 0.0,
        **extra,
    }


class Driver:
    """`node euler_ws.mjs` with the SDK options; its JSON lines arrive on a queue as it prints them."""

    def __init__(self, ws_url: str, options: dict[str, Any], *, stop_after: int = 0) -> None:
        if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@eulerstream").is_dir():
            pytest.fail("node or tests/e2e/node-euler-ws/node_modules is missing: run `make clients`")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGN_API", "EULER"))}
        env["EULER_WS_URL"] = ws_url
        self.proc = subprocess.Popen(
            ["node", "euler_ws.mjs", json.dumps(options), str(TIMEOUT_S * 1000), str(stop_after)],
            cwd=NODE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.lines.put(json.loads(line))

    def next(self, timeout: float = TIMEOUT_S) -> dict[str, Any]:
        try:
            item = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"the SDK printed nothing in {timeout} s; stderr: {self.stderr()}") from None
        self.seen.append(item)
        return item

    def until(self, pred: Any) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            item = self.next(max(0.1, deadline - time.monotonic()))
            if pred(item):
                return item
            assert item["kind"] != "close", (item, self.seen[-5:], self.stderr())
        raise AssertionError(f"not seen in {TIMEOUT_S} s: {self.seen[-5:]}")

    def messages(self) -> list[dict[str, Any]]:
        return [m for item in self.seen if item["kind"] == "frame" for m in item["messages"]]

    def close(self) -> dict[str, Any]:
        return self.until(lambda item: item["kind"] == "close")

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(running)"
        return (self.proc.stderr.read() if self.proc.stderr else "")[-2000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def drivers():
    started: list[Driver] = []

    def start(ws_url: str, options: dict[str, Any], **kw: Any) -> Driver:
        d = Driver(ws_url, options, **kw)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


def ws_base(srv: Any) -> str:
    return srv.url.replace("http://", "ws://", 1)


def is_subset(ours: Any, theirs: Any, path: str = "data") -> None:
    """Every field ttsign sent has the value the SDK's own decoder gives the raw bytes."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict), (path, ours, theirs)
        for key, value in ours.items():
            assert key in theirs, f"{path}.{key} is not a field of the SDK's schema"
            is_subset(value, theirs[key], f"{path}.{key}")
    elif isinstance(ours, list):
        assert isinstance(theirs, list) and len(ours) == len(theirs), (path, ours, theirs)
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            is_subset(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs, (path, ours, theirs)


def by_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


def push(fake: FakeTikTok, *messages: frames.Message) -> None:
    assert fake.pusher.push(FAKE_ROOM_ID, [frames.msg(messages, room_id=int(FAKE_ROOM_ID))]) >= 1


def test_json_default_decoded_by_the_sdk(fake, ttsign_server, drivers):  # noqa: F811
    srv = ttsign_server(**settings_for(fake))
    d = drivers(ws_base(srv), {"uniqueId": "@" + FAKE_USER, "apiKey": KEY, "features": {"includeRawBytes": True}})
    url = d.next()
    assert url["kind"] == "url" and url["path"] == "/" and url["base"] == ws_base(srv)
    assert {"uniqueId", "apiKey", "features.includeRawBytes"} <= set(url["params"])
    worker = d.next()
    assert worker["kind"] == "frame" and worker["bundled"] and worker["messages"][0]["type"] == "workerInfo"
    assert worker["messages"][0]["data"]["features"]["includeRawBytes"] is True
    d.until(lambda item: any(m["type"] == "WebcastLikeMessage" for m in item.get("messages", [])))
    push(fake, frames.chat("scripted chat line"), *frames.gift_combo(2, name="Lion", diamonds=29999))
    push(fake, frames.like(7, 112), frames.member(125))
    d.until(lambda _item: len(by_type(d.messages(), "WebcastMemberMessage")) >= 2)

    got = [m for m in d.messages() if m["type"].startswith("Webcast")]
    for m in got:  # the JSON names and values are exactly what the SDK's own decoder reads from the raw bytes
        assert m["sdk"] is not None, m
        is_subset(m["data"], m["sdk"])
    chats = [m["data"]["comment"] for m in by_type(got, "WebcastChatMessage")]
    assert chats == [*CHAT_TEXTS, "scripted chat line"]
    assert by_type(got, "WebcastChatMessage")[0]["data"]["user"]["uniqueId"] == "viewer_one"
    gifts = by_type(got, "WebcastGiftMessage")
    assert [g["data"]["giftDetails"]["giftName"] for g in gifts] == [GIFT["name"], "Lion", "Lion"]
    assert [g["data"].get("repeatEnd", 0) for g in gifts[1:]] == [0, 1]  # each combo update, as TikTok sent it
    assert gifts[2]["data"]["repeatCount"] == 2 and gifts[2]["data"]["giftDetails"]["diamondCount"] == 29999
    likes = by_type(got, "WebcastLikeMessage")
    assert likes[0]["data"]["likeCount"] == LIKE_COUNT
    assert likes[-1]["data"]["likeCount"] == 7 and likes[-1]["data"]["totalLikeCount"] == 112
    members = by_type(got, "WebcastMemberMessage")
    assert members[0]["data"]["action"] == 1 and members[-1]["data"]["memberCount"] == 125
    assert all(m["data"]["common"]["roomId"] == FAKE_ROOM_ID for m in got[:5])  # 64-bit ids: strings, as the SDK


def test_raw_messages_decoded_by_the_sdk(fake, ttsign_server, drivers):  # noqa: F811
    srv = ttsign_server(**settings_for(fake))
    d = drivers(ws_base(srv), {"uniqueId": FAKE_USER, "apiKey": KEY, "features": {"rawMessages": True}}, stop_after=5)
    d.close()
    binary = [item for item in d.seen if item["kind"] == "frame"]
    assert binary and all(f["binary"] and f["payloadType"] == "msg" and f["payloadEncoding"] == "pb" for f in binary)
    msgs = d.messages()
    types = [m["type"] for m in msgs]
    assert types[:5] == [
        proto.METHOD_MEMBER,
        proto.METHOD_CHAT,
        proto.METHOD_CHAT,
        proto.METHOD_GIFT,
        proto.METHOD_LIKE,
    ], types
    decoded = [m["sdk"] for m in msgs]  # decodedData from deserializeWebSocketMessage, the SDK's own decoders
    assert [decoded[1]["comment"], decoded[2]["comment"]] == list(CHAT_TEXTS)
    assert decoded[3]["giftDetails"]["giftName"] == GIFT["name"] and decoded[3]["giftId"] == GIFT["id"]
    assert decoded[4]["likeCount"] == LIKE_COUNT and decoded[0]["action"] == 1
    assert decoded[0]["user"]["uniqueId"] == "viewer_one"


def test_unbundled_frames_and_the_prefixed_path(fake, ttsign_server, drivers):  # noqa: F811
    srv = ttsign_server(**settings_for(fake))
    opts = {"uniqueId": FAKE_USER, "apiKey": KEY, "features": {"bundleEvents": False}}
    d = drivers(ws_base(srv) + "/v1/euler/ws", opts, stop_after=5)
    d.close()
    frames_seen = [item for item in d.seen if item["kind"] == "frame"]
    assert frames_seen and all(not f["bundled"] and len(f["messages"]) == 1 for f in frames_seen)
    assert [m["data"]["comment"] for m in by_type(d.messages(), "WebcastChatMessage")] == list(CHAT_TEXTS)


def test_stream_end_closes_4005_after_the_last_messages(fake, ttsign_server, drivers):  # noqa: F811
    srv = ttsign_server(**settings_for(fake))
    d = drivers(ws_base(srv), {"uniqueId": FAKE_USER, "apiKey": KEY})
    d.until(lambda item: any(m["type"] == "WebcastLikeMessage" for m in item.get("messages", [])))
    push(fake, frames.chat("last words"), frames.room_end(room_id=int(FAKE_ROOM_ID)))
    closed = d.close()
    assert closed["code"] == 4005 and closed["name"] == "STREAM_END", closed
    msgs = d.messages()
    assert [m["data"]["comment"] for m in by_type(msgs, "WebcastChatMessage")][-1] == "last words"
    assert by_type(msgs, "WebcastControlMessage")[-1]["data"]["action"] == proto.CONTROL_ENDED
    assert msgs[-1] == {"type": "tiktok.disconnect", "data": {"reason": 4005}, "sdk": None}


@pytest.mark.parametrize(
    ("options", "code", "name"),
    [
        ({"uniqueId": OFFLINE_USER, "apiKey": KEY}, 4404, "NOT_LIVE"),
        ({"uniqueId": FAKE_USER, "apiKey": "not-the-key-0123456789"}, 4401, "INVALID_AUTH"),
        ({"uniqueId": FAKE_USER}, 4401, "INVALID_AUTH"),
        ({"uniqueId": FAKE_USER, "apiKey": KEY, "features": {"closeInactiveWebSocketAfter": "5"}}, 4400, None),
        ({"uniqueId": "no/such name", "apiKey": KEY}, 4400, None),
    ],
    ids=["not-live", "wrong-key", "no-key", "bad-option", "bad-username"],
)
def test_refusals_close_with_euler_codes(fake, ttsign_server, drivers, options, code, name):  # noqa: F811
    srv = ttsign_server(**settings_for(fake))
    closed = drivers(ws_base(srv), options).close()
    assert closed["code"] == code and len(closed["reason"]) >= 10, closed
    assert name is None or closed["name"] == name  # the SDK's ClientCloseCode names it (4400 is INVALID_OPTIONS)
    assert KEY not in closed["reason"] and "not-the-key" not in closed["reason"]


def test_max_lifetime_closes_4555(fake, ttsign_server, drivers):  # noqa: F811
    srv = ttsign_server(**settings_for(fake, relay_max_lifetime_s=1.0))
    started = time.monotonic()
    closed = drivers(ws_base(srv), {"uniqueId": FAKE_USER, "apiKey": KEY}).close()
    assert closed["code"] == 4555 and closed["name"] == "MAX_LIFETIME_EXCEEDED", closed
    assert 0.9 <= time.monotonic() - started < TIMEOUT_S


class _Sub:
    """A subscription that delivers nothing: TikTok silent."""

    end = None

    async def next(self, timeout: float | None = None) -> RelayEvent | None:
        await asyncio.sleep(timeout or 0)
        return None

    def pending(self) -> list[RelayEvent]:
        return []


def test_silence_closes_4006():
    # features.closeInactiveWebSocketAfter is 30..3600 s in the SDK's schema: the session's loop with a short one
    session = EulerSession(None, EulerOptions(FAKE_USER, close_inactive_after_s=0.05), _Sub())  # type: ignore[arg-type]
    started = time.monotonic()
    code, reason = asyncio.run(session.pump())
    assert code == CLOSE_NO_MESSAGES == 4006 and "no messages" in reason
    assert time.monotonic() - started < 1


def test_too_many_connections_closes_4429(fake):
    app = create_app(make_settings(**settings_for(fake, relay_subscribers_per_key=1)))
    with TestClient(app) as client, client.websocket_connect(f"/?uniqueId={FAKE_USER}&apiKey={KEY}") as first:
        assert json.loads(first.receive_text())["messages"][0]["type"] == "workerInfo"  # the first one is in
        with client.websocket_connect(f"/?uniqueId={FAKE_USER}&apiKey={KEY}") as second:
            with pytest.raises(WebSocketDisconnect) as closed:
                while True:
                    second.receive_text()
    assert closed.value.code == 4429 and "TTSIGN_RELAY_SUBSCRIBERS_PER_KEY" in (closed.value.reason or "")
