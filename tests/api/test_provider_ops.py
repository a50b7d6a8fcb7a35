"""What operators see of the provider chain: `GET /v1/providers`, `/health`'s `components.providers`, and the
chain's events in `/metrics` (`server.provider_metrics`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from tests.api.conftest import make_settings
from tests.api.test_metrics import sample
from tests.providers.remote_servers import Misbehaving
from ttsign.cli import app
from ttsign.config import get_settings
from ttsign.server import metrics
from ttsign.server.app import create_app
from ttsign.server.health import providers_component
from ttsign.server.provider_metrics import ProviderMetrics

KEY = "provider-ops-test-key-0123456789"
AUTH = {"X-Api-Key": KEY}
API_URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30&cursor=0&secUid=MS4wLjABAAAAops"


def scrape() -> str:
    return metrics.exposition().decode()


def test_chain_events_become_per_provider_metrics() -> None:
    events = ProviderMetrics(["ops-native", "ops-browser"])
    text = scrape()
    assert sample(text, "ttsign_provider_breaker_state", provider="ops-browser") == 0
    assert 'ttsign_provider_calls_total{outcome="ok",provider="ops-native"} 0.0' in text  # declared up front
    events.call("ops-native", "ok", "", 0.0004)
    events.call("ops-browser", "failed", "timeout", 5.0)
    events.call("ops-browser", "failed", "timeout", 5.0)
    events.call("ops-browser", "failed", "crashed", 0.2)
    events.breaker("ops-browser", "open")
    events.shadow("ops-native", "ops-browser", "disagree", ("X-Gnarly.version", "X-Bogus.length"))
    events.shadow("ops-native", "ops-browser", "agree", ())
    events.cache("hit")
    events.cache("stored")
    text = scrape()
    assert sample(text, "ttsign_provider_calls_total", provider="ops-native", outcome="ok") == 1
    assert sample(text, "ttsign_provider_calls_total", provider="ops-browser", outcome="failed") == 3
    assert sample(text, "ttsign_provider_failures_total", provider="ops-browser", kind="timeout") == 2
    assert sample(text, "ttsign_provider_failures_total", provider="ops-browser", kind="crashed") == 1
    assert sample(text, "ttsign_provider_seconds_count", provider="ops-browser") == 3
    assert sample(text, "ttsign_provider_seconds_bucket", provider="ops-native", le="0.0005") == 1
    assert sample(text, "ttsign_provider_seconds_bucket", provider="ops-browser", le="2.5") == 1  # the crash only
    assert sample(text, "ttsign_provider_breaker_state", provider="ops-browser") == 2
    events.breaker("ops-browser", "half_open")
    assert sample(scrape(), "ttsign_provider_breaker_state", provider="ops-browser") == 1
    events.breaker("ops-browser", "closed")
    text = scrape()
    assert sample(text, "ttsign_provider_breaker_state", provider="ops-browser") == 0
    assert sample(text, "ttsign_provider_breaker_transitions_total", provider="ops-browser", state="open") == 1
    shadow = {"provider": "ops-native", "other": "ops-browser"}
    assert sample(text, "ttsign_provider_shadow_comparisons_total", outcome="disagree", **shadow) == 1
    assert sample(text, "ttsign_provider_shadow_comparisons_total", outcome="agree", **shadow) == 1
    assert sample(text, "ttsign_provider_shadow_disagreements_total", field="X-Gnarly.version", **shadow) == 1
    assert sample(text, "ttsign_provider_cache_total", outcome="hit") >= 1


def test_events_never_raise() -> None:
    events = ProviderMetrics()
    events.call("x" * 500, "ok", "", float("nan"))
    events.call("ops-odd", "ok", "", "not a number")  # type: ignore[arg-type]
    events.breaker("ops-odd", "weird")
    events.shadow("ops-odd", "ops-other", "disagree", tuple(str(i) for i in range(100)))
    events.cache("hit")
    assert len([ln for ln in scrape().splitlines() if 'provider="ops-odd",other="ops-other"' in ln]) <= 32


def test_v1_providers_is_keyed_and_lists_the_chain() -> None:
    with TestClient(create_app(make_settings(api_keys=KEY)), raise_server_exceptions=False) as c:
        assert c.get("/v1/providers").status_code == 401
        answer = c.get("/v1/providers", headers=AUTH)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["code"] == 200 and body["order"] == ["native"]
    native = body["providers"][0]
    assert native["name"] == "native" and native["gnarly_version"] == "5.3.2"
    assert isinstance(body["shadow"], dict)


def rows(*states: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"name": name, "breaker": {"state": state}, "calls": 3} for name, state in states]


def test_health_providers_all_open_is_down_one_open_is_degraded() -> None:
    status, entries, reasons = providers_component(rows(("native", "open"), ("browser", "open")), True)
    assert status == "down" and [e["status"] for e in entries] == ["down", "down"]
    assert reasons == ["provider native: breaker open", "provider browser: breaker open"]
    status, entries, _ = providers_component(rows(("native", "open"), ("browser", "closed")), True)
    assert status == "degraded" and [e["breaker"] for e in entries] == ["open", "closed"]
    status, entries, _ = providers_component(rows(("native", "half_open"), ("browser", "closed")), True)
    assert status == "degraded" and entries[0]["status"] == "degraded"
    status, entries, _ = providers_component(rows(("native", "closed"), ("browser", "closed")), True)
    assert status == "ok" and entries[0]["calls"] == 3
    unavailable = [{"name": "native"}, {"name": "browser", "state": "unavailable"}]
    status, entries, reasons = providers_component(unavailable, True)
    assert status == "degraded" and entries[1]["status"] == "down" and reasons == ["provider browser: unavailable"]
    status, entries, _ = providers_component([{"name": "native"}], False)  # the self-test failed
    assert status == "down" and entries[0]["status"] == "down"


def test_health_shows_each_provider_with_its_breaker() -> None:
    with TestClient(create_app(make_settings()), raise_server_exceptions=False) as c:
        body = c.get("/health").json()
    entry = body["components"]["providers"][0]
    assert entry["name"] == "native" and entry["status"] == "ok" and entry["breaker"] == "closed"


# -- start-up: `ttsign serve` refuses bad provider settings in one line; the lifespan starts and closes the chain


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """`ttsign serve --port 1` in-process (CliRunner) with these TTSIGN_* settings (the cached settings cleared)."""
    for name in list(os.environ):
        if name.startswith("TTSIGN_"):
            monkeypatch.delenv(name)

    def run(**env: str) -> Result:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return CliRunner().invoke(app, ["serve", "--port", "1"])

    yield run
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"TTSIGN_PROVIDERS": "native,bogus"}, "TTSIGN_PROVIDERS: unknown provider 'bogus'"),
        ({"TTSIGN_PROVIDERS": "native,native"}, "named twice"),
        ({"TTSIGN_PROVIDERS": "native,remote"}, "TTSIGN_REMOTE_URL is empty"),
        ({"TTSIGN_PROVIDERS": "remote", "TTSIGN_REMOTE_URL": "ftp://x"}, "TTSIGN_REMOTE_URL=ftp://... is not usable"),
        ({"TTSIGN_PROVIDER_FAULTS": "native=explode"}, "TTSIGN_PROVIDER_FAULTS"),
        (
            {"TTSIGN_PROVIDERS": "native,browser", "TTSIGN_BROWSER_EXECUTABLE": "/nonexistent/chromium"},
            "Chromium not found at /nonexistent/chromium",
        ),
    ],
)
def test_serve_refuses_a_bad_provider_setting_in_one_line_with_exit_2(
    serve: Callable[..., Result], env: dict[str, str], said: str
) -> None:
    r = serve(**env)
    assert r.exit_code == 2, (r.exit_code, r.stdout[-500:], r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and said in lines[0], r.stderr


def test_serve_without_the_browser_extra_says_what_to_install(
    serve: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "playwright", None)  # an install without the extra: no Playwright to import
    monkeypatch.setitem(sys.modules, "playwright.async_api", None)
    r = serve(TTSIGN_PROVIDERS="native,browser")
    assert r.exit_code == 2, (r.exit_code, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'ttsign[browser]'" in lines[0], r.stderr


def test_the_lifespan_starts_the_chain_and_closes_it_before_the_upstream() -> None:
    closed: list[str] = []

    class Upstream:
        async def close(self) -> None:
            closed.append("upstream" if remote._client is None else "upstream-before-chain")

    with Misbehaving("real") as double:
        settings = make_settings(providers="native,remote", remote_url=double.url, remote_timeout_s=1.0)
        app = create_app(settings, upstream=Upstream())
        remote = app.state.services.providers.by_name["remote"]
        assert remote._client is None  # built, not started
        with TestClient(app) as c:
            assert remote._client is not None  # started by the lifespan
            answer = c.post("/v1/sign", json={"url": API_URL, "provider": "remote"})
            assert answer.status_code == 200 and answer.headers["X-Ttsign-Provider"] == "remote"
        assert remote._client is None and closed == ["upstream"]


def test_a_provider_that_fails_to_start_does_not_stop_the_server() -> None:
    # /bin/true exists, so the browser provider is built; it is no Chromium, so its launch fails at start-up
    settings = make_settings(providers="native,browser", browser_executable="/bin/true", browser_timeout_s=1.0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        signed = c.post("/v1/sign", json={"url": API_URL})
        assert signed.status_code == 200 and signed.headers["X-Ttsign-Provider"] == "native"
        forced = c.post("/v1/sign", json={"url": API_URL, "provider": "browser"})
        assert forced.status_code == 503 and forced.json()["providers"][0]["kind"] == "unavailable"
        assert c.get("/health").status_code == 200
