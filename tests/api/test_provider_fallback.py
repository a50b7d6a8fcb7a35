"""End to end, in-process (the app with its lifespan, so the chain really starts and stops): the provider chain
falls back in order and every signing route says who signed.

* native made to fail (`TTSIGN_PROVIDER_FAULTS=native=error`) -> the browser (TikTok's npm SDK, pinned with
  `TTSIGN_BROWSER_SDK`, in Debian's Chromium) signs, on every signing route;
* the browser made to hang (a fault over the real, started browser) or killed under the provider (its
  Chromium gets SIGKILL) -> the remote (a second, real ttsign on 127.0.0.1) signs until the browser is back;
  `POST /v1/sign {"provider": "remote"}` forces the remote;
* every provider failing -> a fresh cached answer (`cached: true`, its age), else a 503 naming each provider
  and why;
* breakers open after K failures, skip the provider, cool down, probe and close; a failed probe re-opens
  with a longer cooldown; all open is `/health` down, one open degraded; `/metrics` and `/v1/providers` agree;
* shadow comparison (`TTSIGN_SHADOW_RATE=1`): agreement and a remote on another payload version are counted,
  the differing field named.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from tests.api.test_metrics import sample
from tests.providers.remote_servers import Misbehaving, TtsignServer
from tests.providers.sdk_files import SHA256, chromium_processes, require_chromium, sdk_file, still_running
from ttsign.server import metrics
from ttsign.server.app import create_app
from ttsign.signing.signer import Signer, SignerOptions

REMOTE_KEY = "fallback-remote-key-0123456789abcdef"
SDK = "webmssdk_1.0.0.368.js"
PAGE = "https://www.tiktok.com/@tiktok/live"
API_URL = (
    "https://www.tiktok.com/api/post/item_list/?aid=1988&app_name=tiktok_web&device_platform=web_pc"
    "&secUid=MS4wLjABAAAAfallback&count=30&cursor=0"
)
SIGNING_ROUTES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("/signature", {"content": API_URL, "headers": {"content-type": "text/plain"}}),
    ("/sign", {"json": {"url": API_URL}}),
    ("/webcast/sign_url", {"json": {"url": API_URL}}),
    ("/tiktok/sign_url", {"json": {"url": API_URL}}),
    ("/v1/sign", {"json": {"url": API_URL}}),
)


@pytest.fixture(scope="module")
def remote_ttsign() -> Iterator[TtsignServer]:
    """The remote provider's sign server: a second, real ttsign."""
    limits = {"rate_limit_minute": 0, "rate_limit_hour": 0, "rate_limit_day": 0, "auth_failures_per_minute": 0}
    with TtsignServer(api_keys=REMOTE_KEY, **limits) as server:
        yield server


def browser_settings(remote: TtsignServer, faults: str, **over: Any) -> Any:
    require_chromium()
    base: dict[str, Any] = {
        "providers": "native,browser,remote",
        "provider_faults": faults,
        "browser_sdk": str(sdk_file(SDK)),
        "browser_page_url": PAGE,
        "browser_pages": 1,
        "browser_timeout_s": 3.0,
        "remote_url": remote.url,
        "remote_key": REMOTE_KEY,
        "remote_timeout_s": 3.0,
        "breaker_failures": 1000,  # these tests look at fallback, not at breakers
    }
    base.update(over)
    return make_settings(**base)


def provider_of(path: str, answer: Any) -> str | None:
    """The `provider` field of an origin or native answer (None for the client-compatible routes)."""
    body = answer.json()
    if path in ("/signature", "/sign", "/v1/sign"):
        return str(body["data"]["provider"])
    return None


def signed_url_of(path: str, answer: Any) -> str:
    body = answer.json()
    if path in ("/webcast/sign_url", "/tiktok/sign_url"):
        return str(body["response"]["signedUrl"])
    return str(body["data"]["signed_url"])


def test_native_failing_falls_to_the_browser_on_every_signing_route(remote_ttsign: TtsignServer) -> None:
    with TestClient(create_app(browser_settings(remote_ttsign, "native=error"))) as c:
        for path, kw in SIGNING_ROUTES:
            answer = c.post(path, **kw)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.headers["X-Ttsign-Provider"] == "browser", path
            assert provider_of(path, answer) in ("browser", None), path
            signed = signed_url_of(path, answer)
            assert signed.startswith(API_URL + "&msToken=") and "X-Gnarly=" in signed, (path, signed)
        native = c.post("/v1/sign", json={"url": API_URL}).json()["data"]
        assert (
            native["cached"] is False
            and native["user_agent"] == c.get("/v1/providers").json()["providers"][1]["user_agent"]
        )  # the browser's own UA, which the caller must send
        forced = c.post("/v1/sign", json={"url": API_URL, "provider": "remote"})
        assert forced.status_code == 200 and forced.headers["X-Ttsign-Provider"] == "remote"
        assert forced.json()["data"]["provider"] == "remote"
        report = c.get("/v1/providers").json()
    by_name = {row["name"]: row for row in report["providers"]}
    assert report["order"] == ["native", "browser", "remote"]
    assert (
        by_name["native"]["failures"] == {"error": len(SIGNING_ROUTES) + 1}
        and by_name["native"]["breaker"]["state"] == "closed"
    )
    sdk = by_name["browser"]["sdk"]
    assert sdk and sdk[0]["sha256"] == SHA256[SDK] and "1.0.0.368" in repr(sdk[0])
    assert by_name["remote"]["host"] == f"127.0.0.1:{remote_ttsign.port}" and REMOTE_KEY not in repr(report)


def test_a_hanging_browser_falls_to_the_remote(remote_ttsign: TtsignServer) -> None:
    settings = browser_settings(remote_ttsign, "native=error,browser=hang:0.3")
    with TestClient(create_app(settings)) as c:
        started = time.perf_counter()
        for path, kw in SIGNING_ROUTES:
            answer = c.post(path, **kw)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.headers["X-Ttsign-Provider"] == "remote", path
            assert provider_of(path, answer) in ("remote", None), path
            assert "X-Gnarly=" in signed_url_of(path, answer)
        took = time.perf_counter() - started
        browser = {row["name"]: row for row in c.get("/v1/providers").json()["providers"]}["browser"]
    assert browser["failures"] == {"timeout": len(SIGNING_ROUTES)}
    assert took < len(SIGNING_ROUTES) * 0.3 + 3.0, took  # each call waits the browser's 0.3 s, not more


def test_a_crashed_browser_falls_to_the_remote_until_it_is_back(remote_ttsign: TtsignServer) -> None:
    settings = browser_settings(remote_ttsign, "native=error")
    with TestClient(create_app(settings)) as c:
        assert c.post("/v1/sign", json={"url": API_URL}).headers["X-Ttsign-Provider"] == "browser"
        killed = chromium_processes()
        assert killed, "the browser provider runs no Chromium"
        for pid in killed:  # the browser dies under the provider
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for path, kw in SIGNING_ROUTES:
            answer = c.post(path, **kw)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.headers["X-Ttsign-Provider"] == "remote", path
        browser = {row["name"]: row for row in c.get("/v1/providers").json()["providers"]}["browser"]
        assert set(browser["failures"]) <= {"crashed", "unavailable"} and browser["failures"], browser["failures"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # the provider relaunches its browser: then it signs again
            if c.post("/v1/sign", json={"url": API_URL}).headers["X-Ttsign-Provider"] == "browser":
                break
            time.sleep(0.2)
        else:
            pytest.fail("the browser provider did not come back within 15 s of its crash")
    assert still_running(killed + chromium_processes(), wait_s=5.0) == []  # no Chromium left once the app stopped


# -- every provider failing: the stale-if-error cache, else a 503 naming each ----------------------------------


def test_all_failing_answers_from_a_fresh_cache_else_503_naming_each_provider() -> None:
    with Misbehaving("real") as remote:
        settings = make_settings(
            providers="native,remote",
            provider_faults="native=error",
            remote_url=remote.url,
            remote_timeout_s=1.0,
            cache_ttl_s=1.0,
            breaker_failures=1000,
        )
        with TestClient(create_app(settings)) as c:
            first = c.post("/sign", json={"url": API_URL})
            assert first.status_code == 200 and first.headers["X-Ttsign-Provider"] == "remote"
            assert first.json()["data"]["cached"] is False and "X-Ttsign-Cached" not in first.headers
            remote.mode = "http500"
            cached = c.post("/sign", json={"url": API_URL})
            assert cached.status_code == 200, cached.text
            data = cached.json()["data"]
            assert data["cached"] is True and 0 <= data["age_s"] < 1.0
            assert data["provider"] == "remote" and cached.headers["X-Ttsign-Provider"] == "remote"
            assert float(cached.headers["X-Ttsign-Cached"]) == pytest.approx(data["age_s"], abs=0.1)
            assert data["signed_url"] == first.json()["data"]["signed_url"]
            other = c.post("/sign", json={"url": API_URL + "&other=1"})  # never signed: nothing cached
            time.sleep(1.1)
            stale = c.post("/sign", json={"url": API_URL})  # signed 1.1 s ago, TTL 1 s: too old
            scraped = c.get("/metrics").text
    for failed in (other, stale):
        assert failed.status_code == 503 and failed.headers["Retry-After"] == "5"
        body = failed.json()
        assert body["code"] == 503 and len(body["message"]) >= 19
        assert [(p["name"], p["kind"]) for p in body["providers"]] == [("native", "error"), ("remote", "bad_answer")]
        assert "HTTP 500" in body["providers"][1]["message"]
    assert sample(scraped, "ttsign_provider_cache_total", outcome="hit") >= 1
    assert sample(scraped, "ttsign_provider_cache_total", outcome="miss") >= 2


# -- breakers ------------------------------------------------------------------------------------------------


def test_a_breaker_opens_skips_cools_down_probes_and_closes() -> None:
    with Misbehaving("http500") as remote:
        settings = make_settings(
            providers="remote,native",
            remote_url=remote.url,
            remote_timeout_s=1.0,
            breaker_failures=2,
            breaker_window_s=30.0,
            breaker_cooldown_s=0.4,
            breaker_max_cooldown_s=2.0,
        )
        with TestClient(create_app(settings)) as c:

            def sign() -> str:
                answer = c.post("/v1/sign", json={"url": API_URL})
                assert answer.status_code == 200, answer.text
                return str(answer.headers["X-Ttsign-Provider"])

            def remote_row() -> dict[str, Any]:
                return {row["name"]: row for row in c.get("/v1/providers").json()["providers"]}["remote"]

            def gauge() -> float:
                return sample(metrics.exposition().decode(), "ttsign_provider_breaker_state", provider="remote")

            assert [sign(), sign()] == ["native", "native"]  # the remote failed twice: K = 2
            assert len(remote.bodies) == 2 and remote_row()["breaker"]["state"] == "open" and gauge() == 2
            health = c.get("/health").json()
            assert health["status"] == "degraded"
            entry = health["components"]["providers"][0]
            assert entry["name"] == "remote" and entry["status"] == "down" and entry["breaker"] == "open"
            assert any("remote" in reason for reason in health["reasons"])
            assert sign() == "native" and len(remote.bodies) == 2  # open: the remote is not even called
            time.sleep(0.45)  # the 0.4 s cooldown is over: the next call is the one probe
            assert sign() == "native" and len(remote.bodies) == 3  # the probe failed: open again, cooldown 0.8 s
            assert remote_row()["breaker"]["state"] == "open"
            remote.mode = "real"
            time.sleep(0.45)
            assert sign() == "native" and len(remote.bodies) == 3  # 0.45 s < the grown cooldown: still skipped
            time.sleep(0.45)
            assert sign() == "remote" and len(remote.bodies) == 4  # the probe signed: closed
            assert remote_row()["breaker"]["state"] == "closed" and gauge() == 0
            assert c.get("/health").json()["status"] == "ok"
            assert sign() == "remote"


def test_every_breaker_open_is_health_down() -> None:
    settings = make_settings(
        providers="native,remote",
        provider_faults="native=error,remote=error",
        remote_url="http://127.0.0.1:9",
        breaker_failures=1,
        breaker_cooldown_s=30.0,
        monitor_outage_maintenance=False,  # the breakers' story: no automatic maintenance in front of them
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        assert c.get("/health").json()["status"] == "ok"
        failed = c.post("/v1/sign", json={"url": API_URL})
        assert failed.status_code == 503 and [p["kind"] for p in failed.json()["providers"]] == ["error", "error"]
        health = c.get("/health")
        skipped = c.post("/v1/sign", json={"url": API_URL})
    assert health.status_code == 503 and health.json()["status"] == "down"
    assert [e["breaker"] for e in health.json()["components"]["providers"]] == ["open", "open"]
    assert [p["kind"] for p in skipped.json()["providers"]] == ["breaker_open", "breaker_open"]


# -- shadow comparison -------------------------------------------------------------------------------------


def test_shadow_comparisons_are_counted_and_a_different_payload_version_is_named() -> None:
    with Misbehaving("real") as remote:
        settings = make_settings(
            providers="native,remote", remote_url=remote.url, remote_timeout_s=2.0, shadow_rate=1.0
        )
        with TestClient(create_app(settings)) as c:

            def shadow_after(count: int) -> dict[str, Any]:
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    report: dict[str, Any] = c.get("/v1/providers").json()["shadow"]
                    if report["compared"] + report["failed"] >= count:
                        return report
                    time.sleep(0.05)
                pytest.fail(f"no shadow comparison after 5 s: {report}")

            assert c.post("/v1/sign", json={"url": API_URL}).headers["X-Ttsign-Provider"] == "native"
            agreed = shadow_after(1)
            assert agreed["agreed"] == 1 and agreed["disagreed"] == 0, agreed
            remote.signer = Signer(SignerOptions(gnarly_version="5.1.3"))  # the remote now signs another build
            assert c.post("/v1/sign", json={"url": API_URL}).headers["X-Ttsign-Provider"] == "native"
            report = shadow_after(2)
            scraped = c.get("/metrics").text
    assert report["disagreed"] == 1, report
    assert "X-Gnarly" in repr(report["recent"]) or "X-Dynosaur" in repr(report["recent"]), report["recent"]
    pair = {"provider": "native", "other": "remote"}
    assert sample(scraped, "ttsign_provider_shadow_comparisons_total", outcome="agree", **pair) >= 1
    assert sample(scraped, "ttsign_provider_shadow_comparisons_total", outcome="disagree", **pair) >= 1
    assert any(
        line.startswith("ttsign_provider_shadow_disagreements_total{") and 'other="remote"' in line
        for line in scraped.splitlines()
    )
