"""Maintenance mode: the flag, the 503s of the signing and connect routes (and nothing else), /health, the
events, and `ttsign maintenance on|off|status` against a running server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from tests.fakes.serve_process import ServeProcess
from ttsign.monitor.bus import EventBus
from ttsign.monitor.maintenance import DEFAULT_MESSAGE, MaintenanceFlag
from ttsign.server.app import create_app
from ttsign.server.middleware import SIGNING_PATHS

ADMIN = "admin-key-for-tests-0123456789abcdef"
MESSAGE = "Upgrading the signer, back in ten minutes"
URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30"
SIGN_CALLS: dict[str, dict[str, Any]] = {
    "/signature": {"content": URL, "headers": {"Content-Type": "text/plain"}},
    "/sign": {"json": {"url": URL}},
    "/webcast/sign_url": {"json": {"url": URL}},
    "/webcast/sign_url/": {"json": {"url": URL}},
    "/tiktok/sign_url": {"json": {"url": URL}},
    "/tiktok/signing/encrypt/sign_url": {"json": {"url": URL}},
    "/v1/sign": {"json": {"url": URL}},
    "/v1/decode": {"json": {"token": "x"}},
}
CONNECTS = ("/webcast/fetch?room_id=7300000000000000001", "/webcast/rooms/7300000000000000001/connect")
CONNECTS += ("/webcast/anchors/someone/connect", "/webcast/fetch/?room_id=7300000000000000001")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(admin_keys=ADMIN)), raise_server_exceptions=False) as c:
        yield c


def switch(client: TestClient, enabled: bool, **body: Any) -> Any:
    r = client.post("/v1/admin/maintenance", headers={"X-Admin-Key": ADMIN}, json={"enabled": enabled, **body})
    assert r.status_code == 200, r.text
    return r.json()["maintenance"]


def sign_paths(client: TestClient) -> dict[str, int]:
    out = {}
    for path, kw in SIGN_CALLS.items():
        method = "GET" if path == "/tiktok/sign_url" and "json" not in kw else "POST"
        out[path] = client.request(method, path, **kw).status_code
    return out


def test_every_signing_route_is_listed() -> None:
    assert set(SIGN_CALLS) == set(SIGNING_PATHS)


def test_while_on_signing_and_connect_routes_answer_503_with_the_message(client: TestClient) -> None:
    before = sign_paths(client)
    assert all(status != 503 for status in before.values()), before
    switch(client, True, message=MESSAGE, retry_after_s=120)
    for path, kw in SIGN_CALLS.items():
        r = client.post(path, **kw)
        assert r.status_code == 503, (path, r.text)
        assert r.json() == {"code": 503, "message": MESSAGE, "reason": "maintenance"}
        assert r.headers["retry-after"] == "120" and r.headers["content-type"] == "application/json"
    for path in CONNECTS:
        r = client.get(path)
        assert r.status_code == 503 and r.json()["message"] == MESSAGE, (path, r.text)
    # everything else answers as usual
    for path in ("/health", "/livez", "/readyz", "/metrics", "/webcast/rate_limits", "/v1/providers"):
        assert client.get(path).status_code == 200, path
    assert client.get("/v1/admin/maintenance", headers={"X-Admin-Key": ADMIN}).status_code == 200
    switch(client, False)
    assert sign_paths(client) == before


def test_a_short_or_missing_message_gets_the_default(client: TestClient) -> None:
    state = switch(client, True, message="brb")
    assert state["message"] == DEFAULT_MESSAGE and len(DEFAULT_MESSAGE) >= 19
    r = client.post("/v1/sign", json={"url": URL})
    assert r.status_code == 503 and r.json()["message"] == DEFAULT_MESSAGE
    assert r.headers["retry-after"] == "300"
    switch(client, False)
    assert switch(client, True)["message"] == DEFAULT_MESSAGE


def test_health_shows_maintenance_and_stays_up(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["maintenance"]["enabled"] is False and body["maintenance"]["store"] == "local"
    switch(client, True, message=MESSAGE)
    r = client.get("/health")
    assert r.status_code == 200
    shown = r.json()["maintenance"]
    assert shown["enabled"] is True and shown["message"] == MESSAGE and shown["by"] == "operator"
    assert shown["since"] > 0
    assert any("maintenance mode on" in reason for reason in r.json()["reasons"])


def test_a_switch_is_an_event_and_its_end_a_recovery(client: TestClient) -> None:
    bus = client.app.state.services.events  # type: ignore[attr-defined]
    switch(client, True, message=MESSAGE)
    switch(client, True, message=MESSAGE)  # the same state again: no second event
    switch(client, False)
    switch(client, False)
    seen = [(e.kind, e.key, e.severity) for e in bus.recent if e.key == "maintenance"]
    assert seen == [("maintenance", "maintenance", "high"), ("recovery", "maintenance", "info")]


async def test_the_flag_keeps_since_across_a_message_change_and_only_operators_emit() -> None:
    bus = EventBus()
    flag = MaintenanceFlag(emit=bus.emit)
    first = await flag.set(True, MESSAGE)
    second = await flag.set(True, "Another message that is long enough")
    assert second.since == first.since and second.message.startswith("Another")
    await flag.set(False, by="automatic")
    await flag.set(True, by="automatic", reason="every provider fails")
    assert flag.current.by == "automatic" and "provider" in flag.current.message
    assert [e.kind for e in bus.recent] == ["maintenance", "maintenance"]  # automatic ones: the mitigation's
    assert (await flag.get()) is flag.current


# ---- ttsign maintenance against a running server ------------------------------------------------


def cli(*args: str, key: str | None = ADMIN) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_")}
    if key is not None:
        env["TTSIGN_ADMIN_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "ttsign", "maintenance", *args], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.fixture(scope="module")
def server() -> Iterator[ServeProcess]:
    proc = ServeProcess(TTSIGN_ADMIN_KEYS=ADMIN).start().wait_ready()
    try:
        yield proc
    finally:
        proc.stop()


def test_the_cli_switches_a_running_server(server: ServeProcess) -> None:
    import httpx

    url = server.base_url
    r = cli("status", "--url", url)
    assert r.returncode == 0 and r.stdout.strip() == "maintenance: off (store: local)", r
    r = cli("on", "--message", MESSAGE, "--url", url, "--retry-after", "60")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("maintenance: on since ") and "by operator: " + MESSAGE in r.stdout
    signed = httpx.post(url + "/v1/sign", json={"url": URL})
    assert signed.status_code == 503 and signed.json()["message"] == MESSAGE and signed.headers["retry-after"] == "60"
    assert "maintenance: on" in cli("status", "--url", url).stdout
    r = cli("off", "--url", url)
    assert r.returncode == 0 and r.stdout.startswith("maintenance: off")
    assert httpx.post(url + "/v1/sign", json={"url": URL}).status_code == 200


def test_the_cli_says_what_is_wrong_in_one_line(server: ServeProcess) -> None:
    cases = [
        (cli("on", "--url", server.base_url, "--admin-key", "wrong-key-0123456789"), 1, "invalid admin key"),
        (cli("status", "--url", server.base_url, key=None), 2, "TTSIGN_ADMIN_KEY"),
        (cli("status", "--url", "http://127.0.0.1:9"), 2, "cannot reach the ttsign server"),
        (cli("sideways", "--url", server.base_url), 2, "use on, off or status"),
        (cli("off", "--message", MESSAGE, "--url", server.base_url), 2, "--message goes with `on`"),
    ]
    for result, code, text in cases:
        assert result.returncode == code, (result.returncode, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], result.stderr
        assert ADMIN not in result.stderr
