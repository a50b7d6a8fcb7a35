"""The `ttsign` command line (typer app `ttsign.cli:app`), run in-process with CliRunner.

`room` and `check` talk to the offline TikTok through the TTSIGN_* environment variables; `get_settings()` is
cached, so the cache is cleared around every test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tests.fakes.tiktok import (
    CHAT_TEXTS,
    FAKE_ROOM_ID,
    FAKE_USER,
    GIFT,
    MSG_LOG_IDS,
    OFFLINE_ROOM_ID,
    OFFLINE_USER,
    FakeTikTok,
)
from ttsign.cli import app
from ttsign.config import get_settings

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
VECTOR_FILES = sorted(VECTORS.glob("*.json"))
API_URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=10&device_id=7300000000000000001"
STAGE = re.compile(r"^\[(\d)/4\] (.{18}) (OK  |FAIL) (.*)$")


@pytest.fixture
def fake(fake_server: FakeTikTok, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    fake_server.reset()
    monkeypatch.setenv("TTSIGN_TIKTOK_WWW", fake_server.base_url)
    monkeypatch.setenv("TTSIGN_TTWID_URL", fake_server.ttwid_url)
    monkeypatch.setenv("TTSIGN_WEBCAST_URL", fake_server.webcast_url)
    monkeypatch.setenv("TTSIGN_WS_URL", fake_server.ws_url)
    monkeypatch.setenv("TTSIGN_CONNECT_STRATEGY", "direct")
    monkeypatch.setenv("TTSIGN_UPSTREAM_TIMEOUT", "5")
    yield fake_server
    fake_server.reset()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def stages(out: str) -> list[tuple[int, str, bool, str]]:
    rows = []
    for line in out.splitlines():
        m = STAGE.match(line)
        if m:
            rows.append((int(m[1]), m[2].strip(), m[3] == "OK  ", m[4]))
    return rows


def vector_count(path: Path) -> int:
    return len(json.loads(path.read_text(encoding="utf-8"))["vectors"])


# ---- sign ----------------------------------------------------------------------------------------


def test_sign_prints_the_signed_url() -> None:
    r = run("sign", API_URL)
    assert r.exit_code == 0, r.output
    (line,) = r.stdout.splitlines()
    assert line.startswith(API_URL + "&X-Dynosaur=M")
    assert "&msToken=&X-Bogus=1&X-Gnarly=M" in line  # the page's order; msToken empty, never invented


def test_sign_json() -> None:
    r = run("sign", API_URL, "--json", "--ms-token", "real-token-from-tiktok")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["signed_url"].startswith(API_URL + "&")
    assert data["tokens"]["msToken"] == "real-token-from-tiktok"
    assert data["tokens"]["X-Gnarly"].startswith("M") and data["tokens"]["X-Dynosaur"].startswith("M")
    for name, value in data["tokens"].items():
        assert f"{name}={value}" in data["signed_url"]
    assert data["navigator"]["user_agent"] == data["user_agent"] == data["headers"]["User-Agent"]


@pytest.mark.parametrize("url", ["not a url", "ftp://www.tiktok.com/api/", ""])
def test_sign_bad_url_exits_2(url: str) -> None:
    r = run("sign", url)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert "error" in r.stderr.lower()


# ---- decode --------------------------------------------------------------------------------------


def test_decode_xbogus_vector() -> None:
    vectors = json.loads((VECTORS / "xbogus.json").read_text(encoding="utf-8"))["vectors"]
    v = next(v for v in vectors if v["kind"] == "x-bogus")
    r = run("decode", v["expected_x_bogus"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["type"] == "x-bogus"
    assert out["fields"]["timestamp"] == int(v["timestamp_s"])
    assert out["fields"]["canvas"] == int(v["canvas"])
    assert out["fields"]["header"] == v["env_bytes_hex"]


def test_decode_xgnarly_made_by_sign() -> None:
    signed = json.loads(run("sign", API_URL, "--json").stdout)
    r = run("decode", signed["tokens"]["X-Gnarly"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["type"] == "x-gnarly" and out["payload_version"] == "5.3.2"
    assert out["fields"]["timestamp"] == signed["timestamp"]
    assert out["fields"]["body_md5"] == "d41d8cd98f00b204e9800998ecf8427e"  # GET: the empty body


@pytest.mark.parametrize("token", ["garbage", "", "DFSz", "M" + "!" * 40])
def test_decode_garbage_exits_2(token: str) -> None:
    r = run("decode", token)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert "error" in r.stderr


# ---- vectors check -------------------------------------------------------------------------------


def test_vectors_check_all_pass() -> None:
    assert len(VECTOR_FILES) >= 5
    r = run("vectors", "check", *map(str, VECTOR_FILES))
    assert r.exit_code == 0, r.output
    for path in VECTOR_FILES:
        assert f"{path}: {vector_count(path)} passed, 0 failed\n" in r.stdout  # nothing skipped either
    assert "FAILED" not in r.stdout and "skipped" not in r.stdout


def test_vectors_check_tampered_copy_fails_by_id(tmp_path: Path) -> None:
    data = json.loads((VECTORS / "xbogus.json").read_text(encoding="utf-8"))
    victim = next(v for v in data["vectors"] if v["kind"] == "x-bogus")
    token = victim["expected_x_bogus"]
    victim["expected_x_bogus"] = token[:-1] + ("A" if token[-1] != "A" else "B")
    tampered = tmp_path / "xbogus-tampered.json"
    tampered.write_text(json.dumps(data), encoding="utf-8")
    good = VECTORS / "xttparams.json"

    r = run("vectors", "check", str(good), str(tampered))
    assert r.exit_code == 1
    assert f"{tampered}: {len(data['vectors']) - 1} passed, 1 failed" in r.stdout
    assert f"FAILED {victim['id']} (x-bogus)" in r.stdout
    assert f"{good}: {vector_count(good)} passed, 0 failed" in r.stdout


def test_vectors_check_unknown_kind_is_skipped_not_passed(tmp_path: Path) -> None:
    known = json.loads((VECTORS / "xttparams.json").read_text(encoding="utf-8"))["vectors"][0]
    path = tmp_path / "future.json"
    path.write_text(json.dumps({"vectors": [{"kind": "x-future-9.9", "id": "future-1"}, known]}), encoding="utf-8")
    r = run("vectors", "check", str(path))
    assert f"{path}: 1 passed, 0 failed, 1 skipped" in r.stdout
    assert "skipped future-1" in r.stdout and "x-future-9.9" in r.stdout
    assert r.exit_code == 0


@pytest.mark.parametrize("content", ['{"no": "vectors"}', "[1, 2]", "not json"])
def test_vectors_check_not_a_vector_file_is_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    r = run("vectors", "check", str(path))
    assert r.exit_code == 1
    assert f"{path}: error" in r.stdout


# ---- room ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", [FAKE_USER, "@" + FAKE_USER, f"https://www.tiktok.com/@{FAKE_USER}/live"])
def test_room_live_user_json(fake: FakeTikTok, user: str) -> None:
    r = run("room", user)
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.stdout)
    assert data["unique_id"] == FAKE_USER and data["room_id"] == FAKE_ROOM_ID
    assert data["is_live"] is True and data["source"] == "api-live"
    assert data["nickname"] == "Fake Streamer"
    assert data["room_info"]["id_str"] == FAKE_ROOM_ID and data["room_info"]["status"] == 2


def test_room_offline_user(fake: FakeTikTok) -> None:
    r = run("room", OFFLINE_USER)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["room_id"] == OFFLINE_ROOM_ID and data["is_live"] is False
    assert "room_info" not in data  # only fetched for a live room


def test_room_unknown_user_exits_1(fake: FakeTikTok) -> None:
    r = run("room", "nosuchuser")
    assert r.exit_code == 1
    assert r.stdout == ""
    assert "error (not_found)" in r.stderr and "nosuchuser" in r.stderr


def test_room_bad_username_exits_1_without_calling_tiktok(fake: FakeTikTok) -> None:
    r = run("room", "not a user!")
    assert r.exit_code == 1
    assert "error (bad_input)" in r.stderr
    assert fake.state()["requests"] == []


# ---- check ---------------------------------------------------------------------------------------


def test_check_live_user_all_stages_ok(fake: FakeTikTok) -> None:
    r = run("check", FAKE_USER, "--events", "5", "--timeout", "10")
    assert r.exit_code == 0, r.output
    rows = stages(r.stdout)
    assert [(n, ok) for n, _, ok, _ in rows] == [(1, True), (2, True), (3, True), (4, True)]
    assert FAKE_ROOM_ID in rows[0][3] and "api-live" in rows[0][3]
    assert "msg" in rows[2][3]
    assert rows[3][3].startswith("5 decoded")
    events = [line.split() for line in r.stdout.splitlines() if line.startswith("      ")]
    assert [e[0] for e in events] == ["member", "chat", "chat", "gift", "like"]
    assert f"chat    @viewer_one: {CHAT_TEXTS[0]}" in r.stdout
    assert f"chat    @viewer_two: {CHAT_TEXTS[1]}" in r.stdout
    assert f"gift    @gifter: {GIFT['name']}" in r.stdout

    (sock,) = fake.state()["sockets"]
    assert sock["accepted"] and sock["ttwid_issued"]  # a real, fake-issued ttwid on the upgrade
    assert sock["query"]["ws_direct"] == "1" and sock["query"]["room_id"] == FAKE_ROOM_ID
    assert sock["payload_types"][:2] == ["im_enter_room", "hb"]
    assert [a["log_id"] for a in sock["acks"]] == list(MSG_LOG_IDS)


def test_check_socket_refused_fails_stage_3(fake: FakeTikTok) -> None:
    fake.configure(ws_refuse="DEVICE_BLOCKED")
    r = run("check", FAKE_USER, "--timeout", "5")
    assert r.exit_code == 1
    rows = stages(r.stdout)
    assert [(n, ok) for n, _, ok, _ in rows] == [(1, True), (2, True), (3, False)]
    assert rows[2][1] == "socket handshake"
    assert "DEVICE_BLOCKED" in rows[2][3] and "HTTP 200" in rows[2][3]


def test_check_offline_user_fails_stage_1(fake: FakeTikTok) -> None:
    r = run("check", OFFLINE_USER)
    assert r.exit_code == 1
    rows = stages(r.stdout)
    assert [(n, ok) for n, _, ok, _ in rows] == [(1, False)]
    assert "not LIVE" in rows[0][3] and OFFLINE_ROOM_ID in rows[0][3]
    assert fake.state()["sockets"] == []


def test_check_unknown_user_fails_stage_1(fake: FakeTikTok) -> None:
    r = run("check", "nosuchuser")
    assert r.exit_code == 1
    assert [(n, ok) for n, _, ok, _ in stages(r.stdout)] == [(1, False)]
    assert "not_found" in r.stdout


def test_check_no_ttwid_fails_stage_2(fake: FakeTikTok) -> None:
    fake.configure(no_cookies=True)
    r = run("check", FAKE_USER)
    assert r.exit_code == 1
    rows = stages(r.stdout)
    assert [(n, ok) for n, _, ok, _ in rows] == [(1, True), (2, False)]
    assert "ttwid" in rows[1][3]
    assert fake.state()["sockets"] == []


def test_check_tiktok_down_fails_stage_1_as_upstream(fake: FakeTikTok) -> None:
    fake.configure(down=503)
    r = run("check", FAKE_USER)
    assert r.exit_code == 1
    rows = stages(r.stdout)
    assert [(n, ok) for n, _, ok, _ in rows] == [(1, False)]
    assert rows[0][3].startswith("upstream:")
