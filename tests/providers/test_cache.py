"""The stale-if-error cache: every good answer stored, served only when every provider failed and only while
younger than the TTL, marked cached with its age, bounded in size."""

from __future__ import annotations

import pytest

from tests.providers.chain_doubles import API, ROOM, Clock, Events, Scripted, job
from ttsign.providers.base import ProviderAnswer
from ttsign.providers.cache import StaleCache
from ttsign.providers.chain import AllProvidersFailed, ProviderChain


def test_entries_are_served_while_fresh_and_marked(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    cache = StaleCache(10.0, 8, clock=clock)
    answer = ProviderAnswer(result=object(), provider="native", failures=(("x", "error", "m"),))  # type: ignore[arg-type]
    cache.put(job(), answer)
    clock.t += 9.5
    hit = cache.get(job())
    assert hit is not None and hit.cached and hit.age_s == pytest.approx(9.5) and hit.provider == "native"
    assert hit.result is answer.result and not answer.cached  # a copy: the stored answer is untouched
    clock.t += 0.5
    assert cache.get(job()) is None  # 10 s old: not younger than the TTL
    assert cache.stats()["hits"] == 1 and cache.stats()["misses"] == 1


def test_identical_means_url_method_body_ua_and_legacy() -> None:
    cache = StaleCache(60.0, 8, clock=Clock())
    cache.put(job(API, user_agent="UA-1"), ProviderAnswer(result=object(), provider="native"))  # type: ignore[arg-type]
    assert cache.get(job(API, user_agent="UA-1")) is not None
    for other in (
        job(API, user_agent="UA-2"),
        job(API, user_agent="UA-1", method="POST"),
        job(API, user_agent="UA-1", body=b"x"),
        job(API, user_agent="UA-1", legacy=True),
        job(ROOM, user_agent="UA-1"),
    ):
        assert cache.get(other) is None


def test_bounded_to_its_size() -> None:
    cache = StaleCache(60.0, 3, clock=Clock())
    for n in range(10):
        cache.put(job(f"{API}&n={n}"), ProviderAnswer(result=object(), provider="native"))  # type: ignore[arg-type]
    assert len(cache) == 3
    assert cache.get(job(f"{API}&n=9")) is not None and cache.get(job(f"{API}&n=0")) is None
    with pytest.raises(ValueError):
        StaleCache(0, 3)


async def test_the_chain_serves_the_cache_only_when_every_provider_fails() -> None:
    clock = Clock()
    native, browser = Scripted("native"), Scripted("browser")
    events = Events()
    c = ProviderChain([native, browser], events=events, cache=StaleCache(30.0, 16, clock=clock))
    first = await c.sign(job())
    assert events.caches == ["stored"] and not first.cached
    clock.t += 5
    second = await c.sign(job())  # a provider works: a fresh answer, not the cached one
    assert not second.cached and second.result is not first.result
    native.mode, browser.mode = "error", "timeout"
    clock.t += 20
    served = await c.sign(job())
    assert served.cached and served.age_s == pytest.approx(20.0) and served.provider == "native"
    assert served.result is second.result
    assert [(n, k) for n, k, _ in served.failures] == [("native", "error"), ("browser", "timeout")]
    assert events.caches[-1] == "hit"
    with pytest.raises(AllProvidersFailed):
        await c.sign(job(ROOM))  # never signed: nothing cached
    clock.t += 10  # 30 s old now: stale
    with pytest.raises(AllProvidersFailed):
        await c.sign(job())
    assert events.caches[-2:] == ["miss", "miss"]
    assert c.cache_report()["hits"] == 1


async def test_a_forced_provider_never_gets_the_cache() -> None:
    native = Scripted("native")
    c = ProviderChain([native], cache=StaleCache(30.0, 16, clock=Clock()))
    await c.sign(job())
    native.mode = "error"
    assert (await c.sign(job())).cached
    with pytest.raises(AllProvidersFailed):
        await c.sign(job(provider="native"))


async def test_no_cache_by_default() -> None:
    native = Scripted("native")
    c = ProviderChain([native])
    await c.sign(job())
    native.mode = "error"
    with pytest.raises(AllProvidersFailed):
        await c.sign(job())
    assert c.cache_report() == {"ttl_s": 0.0}
