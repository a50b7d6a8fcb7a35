"""The optional socket-URL signer: an X-Gnarly over the route params, carried in route_params."""

from __future__ import annotations

import hashlib
import itertools
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from tests.fakes.tiktok import FAKE_ROOM_ID, FakeTikTok
from ttsign.algorithms.payloads import gnarly532
from ttsign.config import Settings
from ttsign.server.app import create_app
from ttsign.signing.signer import PageState
from ttsign.signing.ws import xgnarly_ws_signer
from ttsign.tiktok import proto
from ttsign.tiktok.webcast import DIRECT_ROUTE_PARAMS

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"


def test_signer_binds_the_query():
    params = {"aid": "1988", "room_id": "1", "ws_direct": "1"}
    token = xgnarly_ws_signer(UA)(params)["X-Gnarly"]
    fields = gnarly532.decode(token)
    assert fields.sealed_query_md5 == hashlib.md5(b"aid=1988&room_id=1&ws_direct=1").hexdigest()
    assert gnarly532.verify(fields, sealed_query="aid=1988&room_id=1&ws_direct=1", user_agent=UA) == {}


class _SteppingClock:
    """A monotonic clock that advances `step` seconds at every reading (thread-safe)."""

    def __init__(self, start: float = 1000.0, step: float = 0.001) -> None:
        self._ticks = itertools.count()
        self.start, self.step = start, step

    def __call__(self) -> float:
        return self.start + next(self._ticks) * self.step


def test_nonce2_is_of_a_fresh_clock_reading():
    """gnarly-532.md §1.5: nonce2 = NOT of a *fresh* reading of the page clock, not of nonce's reading."""
    sign = xgnarly_ws_signer(UA, mono_clock=_SteppingClock(step=0.001), clock=lambda: 1_790_000_000.25)
    fields = gnarly532.decode(sign({"aid": "1988", "room_id": "1"})["X-Gnarly"])
    assert fields.timestamp == 1_790_000_000
    assert (~fields.nonce2 & 0xFFFFFFFF) - fields.nonce == 1000  # the next reading, 1 ms later


def test_signs_through_the_signer_page_state():
    """One implementation: the socket signer's counter and nonce clock are a `Signer`'s `PageState`."""
    clock = _SteppingClock(step=0.5)
    sign = xgnarly_ws_signer(UA, mono_clock=clock, env_code=129, ub_code=14)
    first, second = (gnarly532.decode(sign({"aid": "1988"})["X-Gnarly"]) for _ in range(2))
    assert (first.sequence, second.sequence) == (1, 2) and first.sequence_13 == 1
    assert (first.env_code, first.ub_code) == (129, 14)
    assert second.nonce - first.nonce == 1_000_000  # two readings (nonce, nonce2) apart, page-relative
    assert 20_500_000 <= first.nonce <= 90_500_000  # a page loaded 20-90 s before, read 0.5 s after start


def test_counter_never_repeats_across_threads():
    """The counter is taken under the page's lock: concurrent signs never carry the same sequence."""
    sign = xgnarly_ws_signer(UA)
    threads, per_thread = 8, 250
    barrier = threading.Barrier(threads)

    def work(_: int) -> list[int]:
        barrier.wait()
        return [gnarly532.decode(sign({"aid": "1988", "room_id": "1"})["X-Gnarly"]).sequence for _ in range(per_thread)]

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so an unlocked counter shows
    try:
        with ThreadPoolExecutor(threads) as pool:
            seqs = [s for chunk in pool.map(work, range(threads)) for s in chunk]
    finally:
        sys.setswitchinterval(old)
    assert sorted(seqs) == list(range(1, threads * per_thread + 1))


class _YieldingInt(int):
    """A counter value whose arithmetic gives the other threads the GIL: a read-modify-write without the
    lock then loses updates every time, not once in a million."""

    def __mod__(self, other: int) -> _YieldingInt:  # type: ignore[override]
        time.sleep(0)
        return _YieldingInt(int(self) % other)

    def __add__(self, other: int) -> _YieldingInt:  # type: ignore[override]
        time.sleep(0)
        return _YieldingInt(int(self) + other)


def test_page_counter_is_taken_under_the_lock():
    page = PageState(time.monotonic, loaded_mono=0.0, seq=_YieldingInt(0))
    with ThreadPoolExecutor(8) as pool:
        seqs = list(pool.map(lambda _: page.next_seq(), range(400)))
    assert sorted(seqs) == list(range(1, 401))


def _connect_route_params(**settings: str) -> dict[str, str]:
    with FakeTikTok() as fake:
        s = Settings(
            log_level="warning",
            tiktok_www=fake.base_url,
            ttwid_url=fake.ttwid_url,
            webcast_url=fake.webcast_url,
            ws_url=fake.ws_url,
            **settings,
        )
        with TestClient(create_app(s)) as c:
            r = c.get(f"/webcast/rooms/{FAKE_ROOM_ID}/connect")
            assert r.status_code == 200, r.text
            return dict(proto.decode_fetch_result(r.content).route_params)


def test_off_by_default_and_on_by_setting():
    assert "X-Gnarly" not in _connect_route_params()
    signed = _connect_route_params(ws_signer="x-gnarly")
    token = signed.pop("X-Gnarly")
    # protobuf maps do not keep order: rebuild the query in the order the strategy signs it
    order = [*DIRECT_ROUTE_PARAMS, "room_id"]
    assert set(order) == set(signed)
    query = "&".join(f"{k}={signed[k]}" for k in order)
    assert gnarly532.decode(token).sealed_query_md5 == hashlib.md5(query.encode()).hexdigest()
