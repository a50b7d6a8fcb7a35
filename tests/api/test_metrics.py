"""`/metrics` (issue 14): upstream calls counted and timed per TikTok base, identity pool gauges, process,
platform and build-info series, and a scrape that says it is one worker's."""

from __future__ import annotations

import os
import re
import socket
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from tests.fakes.tiktok import FAKE_ROOM_ID, FakeTikTok
from ttsign import __version__
from ttsign.server.app import create_app

FETCH = ("/webcast/fetch", {"room_id": FAKE_ROOM_ID})


def client(www: str, ttwid: str, webcast: str, **over: Any) -> TestClient:
    settings = make_settings(
        tiktok_www=www, ttwid_url=ttwid, webcast_url=webcast, upstream_timeout_s=1.0, log_level="critical", **over
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        m = re.fullmatch(re.escape(name) + r"(?:\{(.*)\})?", series)
        if m is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


def test_upstream_calls_are_counted_by_base_outcome_and_status_class(fake: FakeTikTok) -> None:
    """Before: ttsign_upstream_requests_total was declared and never incremented."""
    with client(fake.base_url, fake.ttwid_url, fake.webcast_url, connect_strategy="relay") as c:
        before = c.get("/metrics").text
        assert c.get(FETCH[0], params=FETCH[1]).status_code == 200
        after = c.get("/metrics").text
    total = "ttsign_upstream_requests_total"
    ok = {"upstream": "ttwid", "outcome": "answered", "status_class": "2xx"}
    assert sample(after, total, **ok) == sample(before, total, **ok) + 1
    fetched = {"upstream": "webcast", "outcome": "answered", "status_class": "2xx"}
    assert sample(after, total, **fetched) >= sample(before, total, **fetched) + 1  # relay: im/fetch
    hist = "ttsign_upstream_request_seconds_count"
    assert sample(after, hist, upstream="ttwid") == sample(before, hist, upstream="ttwid") + 1
    assert sample(after, "ttsign_upstream_request_seconds_bucket", upstream="ttwid", le="+Inf") >= 1


def test_failures_are_counted_with_their_kind() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with client(dead, dead + "/ttwid/", dead + "/webcast") as c:
        before = c.get("/metrics").text
        assert c.get(FETCH[0], params=FETCH[1]).status_code in (502, 503)
        after = c.get("/metrics").text
    labels = {"upstream": "ttwid", "outcome": "unreachable", "status_class": "none"}
    assert sample(after, "ttsign_upstream_requests_total", **labels) == (
        sample(before, "ttsign_upstream_requests_total", **labels) + 1
    )


def test_a_503_from_tiktok_is_an_answer_of_class_5xx(fake: FakeTikTok) -> None:
    fake.configure(down=503)
    with client(fake.base_url, fake.ttwid_url, fake.webcast_url) as c:
        before = c.get("/metrics").text
        c.get(FETCH[0], params=FETCH[1])
        after = c.get("/metrics").text
    labels = {"upstream": "www", "outcome": "answered", "status_class": "5xx"}
    assert sample(after, "ttsign_upstream_requests_total", **labels) == (
        sample(before, "ttsign_upstream_requests_total", **labels) + 1
    )


def test_identity_pool_gauges_follow_the_pool(fake: FakeTikTok) -> None:
    with client(fake.base_url, fake.ttwid_url, fake.webcast_url, connects_per_hour=7) as c:
        text = c.get("/metrics").text
        assert sample(text, "ttsign_identity_pool_identities") == 0
        assert c.get(FETCH[0], params=FETCH[1]).status_code == 200
        text = c.get("/metrics").text
    assert sample(text, "ttsign_identity_pool_identities") == 1
    assert sample(text, "ttsign_identity_pool_connects_left") == 6
    assert sample(text, "ttsign_identity_pool_max_identities") == 8


def test_process_platform_and_build_info_series(fake: FakeTikTok) -> None:
    with client(fake.base_url, fake.ttwid_url, fake.webcast_url) as c:
        text = c.get("/metrics").text
    assert sample(text, "ttsign_build_info", version=__version__) == 1
    assert sample(text, "process_resident_memory_bytes") > 0
    assert sample(text, "process_start_time_seconds") > 0
    assert "python_info{" in text and "python_gc_collections_total" in text


@pytest.mark.parametrize("workers", [1, 4])
def test_a_scrape_says_it_is_one_workers(fake: FakeTikTok, workers: int) -> None:
    with client(fake.base_url, fake.ttwid_url, fake.webcast_url, workers=workers) as c:
        text = c.get("/metrics").text
    pid = str(os.getpid())
    assert text.startswith(f"# ttsign: per-worker metrics: this is pid {pid}, one of {workers} worker(s)")
    assert ("counts here are that worker's alone" in text.splitlines()[0]) is (workers > 1)
    assert sample(text, "ttsign_worker_info", pid=pid, workers=str(workers)) == 1
    assert text.count("ttsign_worker_info{") == 1  # one series: the answering worker's
