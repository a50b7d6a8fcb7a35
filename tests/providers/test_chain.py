"""The chain: first healthy provider signs; errors, timeouts, bad tokens and open breakers fall through to
the next, named in the answer; a forced provider is called alone; PolicyError is the caller's."""

from __future__ import annotations

import asyncio

import pytest

from tests.providers.chain_doubles import API, ROOM, WEBCAST, Clock, Events, Scripted, job
from ttsign.providers.breaker import BreakerPolicy
from ttsign.providers.chain import AllProvidersFailed, ProviderChain, UnknownProvider, check_answer
from ttsign.providers.faults import corrupt_result
from ttsign.signing.policy import PolicyError
from ttsign.signing.verify import verify


def chain(*providers: Scripted, **kw: object) -> tuple[ProviderChain, Events]:
    events = Events()
    return ProviderChain(list(providers), events=events, **kw), events  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["error", "timeout", "crashed", "overloaded", "bad_answer", "unavailable"])
async def test_a_failing_first_provider_falls_to_the_next_and_is_named(kind: str) -> None:
    c, events = chain(Scripted("native", kind), Scripted("browser"))
    answer = await c.sign(job())
    assert answer.provider == "browser" and not answer.cached
    assert answer.failures == (("native", kind, f"native scripted {kind}"),)
    assert events.calls == [("native", "failed", kind), ("browser", "ok", "")]
    assert verify(answer.result.request.url, answer.result.request.user_agent).ok


async def test_the_first_healthy_provider_signs_alone() -> None:
    native, browser = Scripted("native"), Scripted("browser")
    c, events = chain(native, browser)
    answer = await c.sign(job())
    assert (answer.provider, answer.failures, browser.calls) == ("native", (), 0)
    assert events.calls == [("native", "ok", "")]


async def test_a_hang_is_cut_by_the_backstop_deadline() -> None:
    c, _ = chain(Scripted("browser", "hang"), Scripted("remote"), deadlines={"browser": 0.05})
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    answer = await c.sign(job())
    assert loop.time() - t0 < 2
    assert answer.provider == "remote"
    assert answer.failures[0][:2] == ("browser", "timeout") and "0.05 s" in answer.failures[0][2]


async def test_a_providers_own_timeout_error_is_a_timeout() -> None:
    class Slow(Scripted):
        async def sign(self, job):  # type: ignore[no-untyped-def]
            raise TimeoutError

    c, _ = chain(Slow("remote"), Scripted("native"))
    answer = await c.sign(job())
    assert answer.provider == "native" and answer.failures == (("remote", "timeout", "remote did not answer in time"),)


async def test_any_other_exception_is_the_providers_error() -> None:
    c, _ = chain(Scripted("native", "raise"), Scripted("remote"))
    answer = await c.sign(job())
    assert answer.provider == "remote"
    assert answer.failures == (("native", "error", "native failed: RuntimeError"),)


@pytest.mark.parametrize("url", [API, ROOM])
async def test_browser_and_remote_answers_that_fail_verification_fall_through(url: str) -> None:
    c, events = chain(Scripted("browser", "corrupt"), Scripted("remote", "corrupt"), Scripted("native"))
    answer = await c.sign(job(url))
    assert answer.provider == "native"
    assert [(n, k) for n, k, _ in answer.failures] == [("browser", "verify"), ("remote", "verify")]
    assert "fail verification" in answer.failures[0][2]
    assert ("browser", "failed", "verify") in events.calls


async def test_native_is_verified_only_when_asked() -> None:
    plain, _ = chain(Scripted("native", "corrupt"), Scripted("browser"))
    assert (await plain.sign(job())).provider == "native"  # not checked: the default
    checked, _ = chain(Scripted("native", "corrupt"), Scripted("browser"), verify_native=True)
    answer = await checked.sign(job())
    assert answer.provider == "browser" and answer.failures[0][:2] == ("native", "verify")


async def test_a_webcast_answer_with_only_mstoken_passes_verification() -> None:
    c, _ = chain(Scripted("browser"), Scripted("native"))
    answer = await c.sign(job(WEBCAST))
    assert answer.provider == "browser" and "X-Bogus" not in answer.result.tokens
    # ... but an /api/ answer stripped of its tokens does not
    good = (await c.sign(job(API))).result
    stripped = type(good.request)(**{**good.request.__dict__, "url": API, "tokens": {"msToken": ""}})
    assert check_answer(type(good)(stripped)) is not None
    assert check_answer(corrupt_result(good)) is not None and check_answer(good) is None


async def test_policy_errors_are_the_callers_and_never_count() -> None:
    native = Scripted("native", "policy")
    c, events = chain(native, Scripted("browser"), breaker=BreakerPolicy(failures=1))
    with pytest.raises(PolicyError):
        await c.sign(job())
    assert events.calls == [] and c.breakers["native"].state == "closed"
    assert c.breakers["native"].snapshot()["failures"] == 0


async def test_all_failing_raises_naming_each_provider_and_why() -> None:
    c, _ = chain(Scripted("native", "error"), Scripted("browser", "crashed"), Scripted("remote", "corrupt"))
    with pytest.raises(AllProvidersFailed) as err:
        await c.sign(job())
    assert [(n, k) for n, k, _ in err.value.failures] == [
        ("native", "error"),
        ("browser", "crashed"),
        ("remote", "verify"),
    ]
    assert "native: error" in str(err.value) and "browser: crashed" in str(err.value)


async def test_an_open_breaker_is_skipped_then_probed_and_closed() -> None:
    clock = Clock()
    native = Scripted("native", "error")
    c, events = chain(native, Scripted("browser"), breaker=BreakerPolicy(2, 60, 30, 600), clock=clock)
    for _ in range(2):
        assert (await c.sign(job())).provider == "browser"
    assert events.breakers == [("native", "open")]
    answer = await c.sign(job())
    assert answer.provider == "browser" and native.calls == 2  # skipped, not called
    assert answer.failures[0][:2] == ("native", "breaker_open") and "next probe in 30 s" in answer.failures[0][2]
    native.mode = "ok"
    clock.t += 30
    answer = await c.sign(job())  # the probe
    assert answer.provider == "native" and native.calls == 3
    assert events.breakers == [("native", "open"), ("native", "half_open"), ("native", "closed")]


async def test_concurrent_callers_during_a_probe_skip_the_provider() -> None:
    clock = Clock()
    native = Scripted("native", "error")
    c, _ = chain(native, Scripted("browser"), breaker=BreakerPolicy(1, 60, 30, 600), clock=clock)
    await c.sign(job())
    clock.t += 30
    native.mode, native.hang_s = "hang", 0.05
    answers = await asyncio.gather(*(c.sign(job()) for _ in range(5)))
    assert sorted(a.provider for a in answers) == ["browser"] * 4 + ["native"]
    assert native.calls == 2


async def test_a_cancelled_probe_frees_the_probe_slot() -> None:
    clock = Clock()
    native = Scripted("native", "error")
    c, _ = chain(native, Scripted("browser"), breaker=BreakerPolicy(1, 60, 30, 600), clock=clock)
    await c.sign(job())
    clock.t += 30
    native.mode = "hang"
    task = asyncio.ensure_future(c.sign(job()))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    native.mode = "ok"
    assert (await c.sign(job())).provider == "native"


async def test_a_forced_provider_is_called_alone_whatever_its_breaker_says() -> None:
    native, browser = Scripted("native"), Scripted("browser", "error")
    c, events = chain(native, browser, breaker=BreakerPolicy(1, 60, 30, 600))
    with pytest.raises(AllProvidersFailed) as err:
        await c.sign(job(provider="browser"))
    assert [n for n, _, _ in err.value.failures] == ["browser"] and native.calls == 0
    assert c.breakers["browser"].state == "open"  # still recorded
    browser.mode = "ok"
    answer = await c.sign(job(provider="browser"))  # breaker open: forced anyway
    assert answer.provider == "browser" and answer.failures == ()
    assert events.calls[-1] == ("browser", "ok", "")
    with pytest.raises(UnknownProvider, match="configured: native, browser"):
        await c.sign(job(provider="remote"))


async def test_describe_overlays_the_chains_account_on_the_providers_info() -> None:
    c, _ = chain(Scripted("native", "error"), Scripted("browser"), breaker=BreakerPolicy(1, 60, 30, 600))
    await c.sign(job())
    native, browser = c.describe()
    assert native["name"] == "native" and native["mode"] == "error" and native["info"]["calls"] == -1
    assert native["breaker"]["state"] == "open" and native["calls"] == 1 and native["failures"] == {"error": 1}
    assert native["last_error"]["kind"] == "error" and native["cooldown_s"] == 30 and native["opens"] == 1
    assert native["verified"] is False and browser["verified"] is True
    assert browser["breaker"]["state"] == "closed" and browser["calls"] == 1 and browser["failures"] == {}


async def test_start_and_close_reach_every_provider() -> None:
    a, b = Scripted("native"), Scripted("browser")
    c, _ = chain(a, b)
    await c.start()
    await c.close()
    assert a.started and b.started and a.closed and b.closed
    with pytest.raises(ValueError):
        ProviderChain([Scripted("native"), Scripted("native")])
