"""The admin routes (`/v1/admin/maintenance`): an admin key from TTSIGN_ADMIN_KEYS, never open, never an API
key, never logged; strict bodies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from tests.fakes.serve_process import ServeProcess
from ttsign.server.app import create_app

ADMIN = "admin-key-for-tests-0123456789abcdef"
API_KEY = "api-key-for-tests-0123456789abcdef"
ON = {"enabled": True, "message": "Upgrading the signer, back in ten minutes"}
ROUTE = "/v1/admin/maintenance"


@pytest.fixture
def app_client() -> Iterator[Callable[..., TestClient]]:
    made: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)), raise_server_exceptions=False)
        client.__enter__()
        made.append(client)
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)


@pytest.mark.parametrize("api_keys", ["", API_KEY], ids=["open-mode", "keyed"])
def test_with_no_admin_keys_the_admin_routes_are_off_even_in_open_mode(
    app_client: Callable[..., TestClient], api_keys: str
) -> None:
    client = app_client(api_keys=api_keys)
    for headers in ({}, {"X-Admin-Key": ADMIN}, {"X-Api-Key": API_KEY}, {"Authorization": f"Bearer {API_KEY}"}):
        got = client.get(ROUTE, headers=headers)
        assert got.status_code == 403, got.text
        assert got.json()["code"] == 403 and "TTSIGN_ADMIN_KEYS" in got.json()["message"]
        posted = client.post(ROUTE, headers=headers, json=ON)
        assert posted.status_code == 403
    assert client.app.state.services.maintenance.current.enabled is False  # type: ignore[attr-defined]
    assert client.post("/v1/sign", json={"url": "https://www.tiktok.com/api/x/?a=1"}, headers={"X-Api-Key": API_KEY})


def test_a_missing_or_wrong_admin_key_is_a_401_and_switches_nothing(app_client: Callable[..., TestClient]) -> None:
    client = app_client(admin_keys=f"{ADMIN},second-admin-key-0123456789")
    for headers in ({}, {"X-Admin-Key": "wrong-admin-key-0123456789"}, {"Authorization": "Bearer nope-0123456789"}):
        r = client.post(ROUTE, headers=headers, json=ON)
        assert r.status_code == 401, r.text
        assert "admin key" in r.json()["message"] and "X-Admin-Key" in r.headers["www-authenticate"]
    assert client.get(ROUTE).status_code == 401
    assert client.app.state.services.maintenance.current.enabled is False  # type: ignore[attr-defined]


def test_an_api_key_is_not_an_admin_key_and_the_admin_key_needs_no_api_key(
    app_client: Callable[..., TestClient],
) -> None:
    client = app_client(api_keys=API_KEY, admin_keys=ADMIN)
    assert client.post(ROUTE, headers={"X-Api-Key": API_KEY}, json=ON).status_code == 401
    r = client.post(ROUTE, headers={"X-Admin-Key": ADMIN}, json=ON)  # no API key: the admin key is enough
    assert r.status_code == 200, r.text
    assert r.json()["maintenance"]["enabled"] is True
    r = client.get(ROUTE, headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 200 and r.json()["maintenance"]["message"] == ON["message"]
    assert r.json()["maintenance"]["by"] == "operator" and r.json()["maintenance"]["store"] == "local"
    # the admin key is not an API key either
    assert client.get("/webcast/rate_limits", headers={"X-Api-Key": ADMIN}).status_code == 401


def test_wrong_admin_keys_count_against_the_failed_key_throttle(app_client: Callable[..., TestClient]) -> None:
    client = app_client(admin_keys=ADMIN, auth_failures_per_minute=2)
    statuses = [client.get(ROUTE, headers={"X-Admin-Key": f"wrong-{i}-0123456789"}).status_code for i in range(3)]
    assert statuses == [401, 401, 429]
    assert client.get(ROUTE, headers={"X-Admin-Key": ADMIN}).status_code == 429  # the address waits, as for API keys


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"enabled": "yes"}', 422),
        (b'{"enabled": 1}', 422),
        (b"{}", 400),
        (b'{"enabled": true, "extra": 1}', 422),
        (b'{"enabled": true, "message": 5}', 422),
        (b'{"enabled": true, "retry_after_s": 0}', 422),
        (b"not json", 400),
        (b'{"enabled": true, "enabled": false}', 400),
    ],
)
def test_bad_bodies_are_clear_4xx(app_client: Callable[..., TestClient], body: bytes, status: int) -> None:
    client = app_client(admin_keys=ADMIN)
    r = client.post(ROUTE, headers={"X-Admin-Key": ADMIN, "Content-Type": "application/json"}, content=body)
    assert r.status_code == status, r.text
    assert r.json()["code"] == status and len(r.json()["message"]) >= 19
    assert client.app.state.services.maintenance.current.enabled is False  # type: ignore[attr-defined]
    long = {"enabled": True, "message": "x" * 501}
    assert client.post(ROUTE, headers={"X-Admin-Key": ADMIN}, json=long).status_code == 422


def test_admin_keys_never_reach_the_logs() -> None:
    """A real `ttsign serve` at debug level (its own process: logging is the process's)."""
    import httpx

    server = ServeProcess(TTSIGN_ADMIN_KEYS=ADMIN, TTSIGN_LOG_LEVEL="debug").start().wait_ready()
    wrong = "wrong-admin-key-SECRET-0123456789"
    try:
        url = server.base_url + ROUTE
        assert httpx.post(url, headers={"X-Admin-Key": ADMIN}, json=ON).status_code == 200
        assert httpx.get(url, headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
        assert httpx.get(url, headers={"X-Admin-Key": wrong}).status_code == 401
        assert httpx.post(url, headers={"X-Admin-Key": ADMIN}, json={"enabled": False}).status_code == 200
    finally:
        logged = server.stop()
    assert "/v1/admin/maintenance" in logged and "maintenance_on" in logged  # the requests were logged at all
    assert ADMIN not in logged and wrong not in logged
