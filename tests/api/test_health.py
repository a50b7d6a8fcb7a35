"""`/health`, `/livez`, `/readyz` (issue 14, "an operator can trust what ttsign says").

`/health` reports each component with its evidence: the signer's start-up self-test, the store, what
`Upstream` observed of each TikTok base (last outcome, time, circuit), the identity pool. TikTok failing
is `degraded` with HTTP 200 (signing still works); a failed signer self-test is `down` with HTTP 503, and
`/readyz` is 503 with it, while `/livez` stays 200. TikTok is the offline fake, or a closed port.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from tests.fakes.tiktok import FAKE_ROOM_ID, FakeTikTok
from tests.fakes.transport import canned
from ttsign.server import health as health_mod
from ttsign.server.app import create_app, make_signer
from ttsign.signing.signer import SignedRequest, Signer, SignerOptions
from ttsign.tiktok.client import TikTokClient
from ttsign.tiktok.http import TransportError
from ttsign.vectors import load_vectors

ROOT = Path(__file__).resolve().parents[2]
VECTOR_DIRS = (ROOT / "tests" / "vectors", ROOT / "ttsign" / "vectors" / "data")  # the files' old and new home
FETCH = ("/webcast/fetch", {"room_id": FAKE_ROOM_ID})


def closed_base() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def client_for(www: str, ttwid: str, webcast: str, *, signer: Signer | None = None, **over: Any) -> TestClient:
    settings = make_settings(
        tiktok_www=www,
        ttwid_url=ttwid,
        webcast_url=webcast,
        ws_url="ws://127.0.0.1:9/webcast/im/ws_proxy/ws_reuse_supplement/",
        upstream_timeout_s=1.0,
        log_level="critical",
        **over,
    )
    return TestClient(create_app(settings, signer=signer), raise_server_exceptions=False)


def fake_client(fake: FakeTikTok, **over: Any) -> TestClient:
    return client_for(fake.base_url, fake.ttwid_url, fake.webcast_url, **over)


# ---- TikTok down: degraded, with the evidence -------------------------------------------------------


def test_tiktok_unreachable_is_degraded_with_evidence() -> None:
    """Before: `/health` said "ok" whatever TikTok did. The fake 'down' here is a closed port."""
    dead = closed_base()
    with client_for(dead, dead + "/ttwid/union/register/", dead + "/webcast") as c:
        assert c.get("/health").json()["status"] == "ok"  # nothing observed yet
        before = time.time()
        r = c.get(FETCH[0], params=FETCH[1])
        assert r.status_code in (502, 503), r.text
        h = c.get("/health")
        assert h.status_code == 200  # degraded: signing still works, a load balancer keeps the server
        body = h.json()
        assert body["status"] == "degraded"
        up = body["components"]["upstream"]
        assert up["status"] == "degraded" and "ttwid" in up["failing"] and "www" in up["failing"]
        for base in ("ttwid", "www"):  # the identity fetch tried register, then /live
            ev = up["bases"][base]
            assert ev["status"] == "failing" and ev["last"]["outcome"] == "unreachable"
            assert ev["last_error"]["kind"] == "unreachable"
            assert before - 1 <= ev["last_error"]["at"] <= time.time() + 1
            assert ev["consecutive_failures"] == 1 and ev["circuit"] == "closed"
        assert up["bases"]["webcast"]["status"] == "unknown"  # never called: no evidence, not "ok"
        assert any("ttwid" in reason for reason in body["reasons"])
        assert dead.rsplit(":", 1)[1] not in h.text  # the evidence names no address
        assert c.get("/readyz").status_code == 200
        assert c.post("/v1/sign", json={"url": "https://www.tiktok.com/api/x/?aid=1988"}).status_code == 200


def test_fake_tiktok_answering_503_is_degraded(fake: FakeTikTok) -> None:
    """TikTok answering 503 (the issue's own case): degraded, the status in the evidence; saved for the note."""
    fake.configure(down=503)
    with fake_client(fake) as c:
        assert c.get(FETCH[0], params=FETCH[1]).status_code in (502, 503)
        h = c.get("/health")
        body = h.json()
        assert h.status_code == 200 and body["status"] == "degraded"
        ttwid = body["components"]["upstream"]["bases"]["ttwid"]
        assert ttwid["last"]["outcome"] == "http_503" and ttwid["last"]["status"] == 503
        assert ttwid["last_error"]["kind"] == "http_503"
        assert body["components"]["signer"]["self_test"]["passed"] is True


def test_circuit_opens_after_consecutive_failures_and_closes_on_success(fake: FakeTikTok) -> None:
    fake.configure(down=503)
    with fake_client(fake) as c:
        for _ in range(health_mod.CIRCUIT_OPEN_AFTER):
            c.get(FETCH[0], params=FETCH[1])
        ttwid = c.get("/health").json()["components"]["upstream"]["bases"]["ttwid"]
        assert ttwid["circuit"] == "open" and ttwid["consecutive_failures"] >= health_mod.CIRCUIT_OPEN_AFTER
        fake.configure(down=0)
        assert c.get(FETCH[0], params=FETCH[1]).status_code == 200
        body = c.get("/health").json()
        ttwid = body["components"]["upstream"]["bases"]["ttwid"]
        assert ttwid["circuit"] == "closed" and ttwid["status"] == "ok" and ttwid["last_error"]["kind"] == "http_503"
        assert body["reasons"] == ["TikTok www: last call http_503 0.0 s ago"]  # not called since: still failing
        tracker = health_mod.tracker(c.app)
        later = health_mod.upstream_component(tracker.services.upstream.upstream.observed, time.time() + 301)
        assert later["status"] == "ok" and later["bases"]["www"]["status"] == "failed_earlier"


def test_identity_pool_shows_ages_and_connects_left_never_a_cookie(fake: FakeTikTok) -> None:
    with fake_client(fake, connects_per_hour=5) as c:
        assert c.get(FETCH[0], params=FETCH[1]).status_code == 200
        h = c.get("/health")
        pool = h.json()["components"]["identity_pool"]
        assert pool["identities"] == 1 and pool["connects_per_hour"] == 5
        assert pool["items"][0]["connects_left"] == 4 and pool["connects_left"] == 4
        assert 0 <= pool["items"][0]["age_s"] < 30
        issued = [r for r in fake.state()["requests"] if r["path"].endswith("/register/")]
        assert issued
        cookie = c.get(FETCH[0], params=FETCH[1]).headers["x-set-tt-cookie"]
        ttwid = cookie.split("ttwid=", 1)[1].split(";", 1)[0]
        assert len(ttwid) > 10 and ttwid not in c.get("/health").text


# ---- the signer: self-test at start, down when it fails ---------------------------------------------


class BrokenSigner(Signer):
    """Signs, but its X-Gnarly is another request's (what a broken build or a bad key table would give)."""

    def sign(self, url: Any, *args: Any, **kw: Any) -> SignedRequest:
        signed = super().sign(url, *args, **kw)
        if "X-Gnarly" not in signed.tokens:
            return signed
        other = super().sign("https://www.tiktok.com/api/other/?aid=1988&x=1")
        tokens = {**signed.tokens, "X-Gnarly": other.tokens["X-Gnarly"]}
        url_ = signed.url.replace(signed.tokens["X-Gnarly"], other.tokens["X-Gnarly"])
        return SignedRequest(**{**signed.__dict__, "tokens": tokens, "url": url_})


class RaisingSigner(Signer):
    def sign(self, *args: Any, **kw: Any) -> SignedRequest:
        raise RuntimeError("signer exploded")


@pytest.mark.parametrize("broken", [BrokenSigner, RaisingSigner])
def test_a_failing_signer_self_test_is_down_503_and_not_ready_but_live(broken: type[Signer]) -> None:
    dead = closed_base()
    with client_for(dead, dead, dead, signer=broken(SignerOptions())) as c:
        h = c.get("/health")
        assert h.status_code == 503
        body = h.json()
        assert body["status"] == "down" and body["components"]["signer"]["status"] == "down"
        test = body["components"]["signer"]["self_test"]
        assert test["passed"] is False and test["at"] <= time.time()
        failed = [check for check in test["checks"] if not check["passed"]]
        assert failed[0]["check"].startswith("sign /api/")
        assert all(check["passed"] for check in test["checks"] if check["check"].startswith("vector"))
        assert body["components"]["providers"][0]["status"] == "down"
        assert c.head("/health").status_code == 503
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["signer_self_test"] == "failed"
        assert c.get("/livez").status_code == 200


def test_the_self_test_runs_at_start_up_and_passes_with_the_real_signer() -> None:
    dead = closed_base()
    app_client = client_for(dead, dead, dead)
    tracker = health_mod.tracker(app_client.app)
    assert tracker.self_test is None
    with app_client as c:  # the lifespan start-up runs the self-test, before any request
        assert tracker.self_test is not None and tracker.self_test.passed
        assert len(tracker.self_test.checks) == 5 and tracker.self_test.ms < 1000
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"signer_self_test": "passed", "startup": "done"}
    ready_now, body = tracker.ready()  # the lifespan shut down: draining
    assert not ready_now and body["checks"]["startup"] == "stopping"


@pytest.mark.parametrize("gnarly_version", ["5.3.2", "5.1.3"])
def test_self_test_passes_for_each_gnarly_version(gnarly_version: str) -> None:
    test = health_mod.signer_self_test(make_signer(make_settings(gnarly_version=gnarly_version)))
    assert test.passed, test.checks


def test_a_reference_vector_that_no_longer_reproduces_fails_the_self_test(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = [dict(v) for v in health_mod.REFERENCE_VECTORS]
    bad[0] = {**bad[0], "timestamp_s": bad[0]["timestamp_s"] + 1}  # the X-Bogus no longer matches its input
    monkeypatch.setattr(health_mod, "REFERENCE_VECTORS", bad)
    test = health_mod.signer_self_test(make_signer(make_settings()))
    assert not test.passed and not test.checks[0]["passed"] and "X-Bogus" in test.checks[0]["detail"]


def test_the_packaged_reference_vectors_are_the_test_vectors() -> None:
    from ttsign.server.health_vectors import REFERENCE_VECTORS, SOURCES

    for (name, vid), packaged in zip(SOURCES, REFERENCE_VECTORS, strict=True):
        path = next(d / name for d in VECTOR_DIRS if (d / name).is_file())
        original = next(v for v in load_vectors(path) if v["id"] == vid)
        assert packaged["kind"] == original["kind"]
        assert {k: original[k] for k in packaged} == packaged


# ---- the rest of the answer -------------------------------------------------------------------------


def test_health_counts_requests_and_keeps_the_origin_contract(fake: FakeTikTok) -> None:
    with fake_client(fake) as c:
        first = c.get("/health").json()["counts"]
        c.get("/no-such-route")
        body = c.get("/health").json()
        assert body["counts"]["requests"] >= first["requests"] + 2  # the 404 and the first /health
        assert body["counts"]["errors_4xx"] >= first["errors_4xx"] + 1
        assert {"status", "timestamp", "version", "components"} <= set(body)
        assert {"signer", "providers", "store", "upstream", "identity_pool"} == set(body["components"])
        assert body["components"]["store"] == {
            "kind": "memory",
            "status": "ok",
            "detail": "in-process: per worker, emptied on restart",
        }
        assert body["uptime_s"] >= 0
        live = c.get("/livez").json()
        assert live["status"] == "ok" and live["uptime_s"] >= 0


def test_probes_are_public_with_keys_set(fake: FakeTikTok) -> None:
    with fake_client(fake, api_keys="a-key-for-the-health-tests-0123") as c:
        for path in ("/health", "/livez", "/readyz"):
            assert c.get(path).status_code == 200, path
        assert c.get("/webcast/rate_limits").status_code == 401


def test_an_injected_transport_reaches_health_without_a_network() -> None:
    """The seam end to end: the app's real TikTok client over a fake transport that times out."""
    settings = make_settings(log_level="critical", upstream_timeout_s=1.0)
    transport = canned(TransportError("timeout"))
    app = create_app(settings, upstream=TikTokClient(settings, transport=transport))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get(FETCH[0], params=FETCH[1]).status_code == 504
        body = c.get("/health").json()
    assert transport.sent and body["status"] == "degraded"
    assert body["components"]["upstream"]["bases"]["ttwid"]["last_error"]["kind"] == "timeout"
