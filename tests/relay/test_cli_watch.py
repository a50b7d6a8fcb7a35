"""`ttsign watch USER`: a room's events as lines or JSON from a running server's relay; refusals exit 1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from typer.testing import CliRunner

from tests.e2e.conftest import ServerThread
from tests.fakes import frames
from tests.fakes.tiktok import CHAT_TEXTS, FAKE_ROOM_ID, FAKE_USER, OFFLINE_USER, FakeTikTok
from ttsign.cli import app

runner = CliRunner()


def test_watch_prints_a_line_per_event(relay_server: Callable[..., ServerThread]) -> None:
    srv = relay_server()
    result = runner.invoke(app, ["watch", FAKE_USER, "--url", srv.url, "--count", "6"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("[control] ttsign connected")
    assert f"[chat] @viewer_one (Viewer One): {CHAT_TEXTS[0]}" in lines
    assert "[gift] @gifter (Gifter) sent Rose x1" in lines and lines[-1].startswith("[like] @viewer_two")


def test_watch_json_prints_one_object_per_line_and_stops_when_the_room_ends(
    relay_server: Callable[..., ServerThread], fake: FakeTikTok
) -> None:
    srv = relay_server()

    def end_soon() -> None:
        deadline = time.monotonic() + 5
        while fake.pusher.count(FAKE_ROOM_ID) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        fake.pusher.push(FAKE_ROOM_ID, [frames.msg([frames.chat("goodbye"), frames.room_end()])])

    pusher = threading.Thread(target=end_soon)
    pusher.start()
    result = runner.invoke(app, ["watch", "@" + FAKE_USER, "--url", srv.url, "--json"])
    pusher.join()
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    assert [e["type"] for e in events][-2:] == ["chat", "room_end"] and events[-2]["data"]["text"] == "goodbye"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))


def test_watch_a_user_who_is_not_live_exits_1_with_the_servers_message(
    relay_server: Callable[..., ServerThread],
) -> None:
    srv = relay_server()
    result = runner.invoke(app, ["watch", OFFLINE_USER, "--url", srv.url])
    assert result.exit_code == 1
    assert "HTTP 404" in result.output and "not LIVE" in result.output


def test_watch_sends_the_api_key(relay_server: Callable[..., ServerThread]) -> None:
    srv = relay_server(api_keys="watch-key-0123456789abcdef")
    denied = runner.invoke(app, ["watch", FAKE_USER, "--url", srv.url, "--count", "1"])
    assert denied.exit_code == 1 and "HTTP 401" in denied.output
    env = {"TTSIGN_API_KEY": "watch-key-0123456789abcdef"}
    ok = runner.invoke(app, ["watch", FAKE_USER, "--url", srv.url, "--count", "1"], env=env)
    assert ok.exit_code == 0 and ok.output.startswith("[control]")
