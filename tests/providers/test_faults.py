"""TTSIGN_PROVIDER_FAULTS: a named provider fails as told, and the chain falls through it."""

from __future__ import annotations

import asyncio

import pytest

from tests.providers.chain_doubles import API, ROOM, WEBCAST, Scripted, job
from ttsign.providers.base import ProviderError
from ttsign.providers.chain import ProviderChain, check_answer
from ttsign.providers.faults import FAULTS, Fault, FaultyProvider, apply_faults, corrupt_result, parse_faults
from ttsign.signing.verify import verify


def test_parse() -> None:
    assert parse_faults("") == {}
    assert parse_faults(" native=error , browser=HANG:0.5,remote=corrupt") == {
        "native": Fault("error"),
        "browser": Fault("hang", 0.5),
        "remote": Fault("corrupt"),
    }
    assert set(FAULTS) >= {"error", "timeout", "crashed", "overloaded", "bad_answer", "unavailable", "hang"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("native", "not provider=fault"),
        ("native=explode", "unknown fault 'explode'"),
        ("chrome=error", "unknown provider 'chrome'"),
        ("native=error,native=hang", "named twice"),
        ("native=error:3", "only hang takes a duration"),
        ("native=hang:soon", "0 to 3600"),
    ],
)
def test_bad_specs_are_one_line_errors_naming_the_setting(text: str, needle: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_faults(text, ("native", "browser", "remote"))
    assert "TTSIGN_PROVIDER_FAULTS" in str(err.value) and needle in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("kind", ["error", "timeout", "crashed", "overloaded", "unavailable", "bad_answer"])
async def test_raised_kinds_never_call_the_provider(kind: str) -> None:
    inner = Scripted("native")
    faulty = FaultyProvider(inner, Fault(kind))
    with pytest.raises(ProviderError) as err:
        await faulty.sign(job())
    assert err.value.kind == kind and inner.calls == 0
    assert faulty.info()["injected_fault"] == kind and faulty.name == "native"


async def test_hang_waits_the_providers_timeout_then_times_out() -> None:
    faulty = FaultyProvider(Scripted("browser"), Fault("hang"), hang_s=0.05)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(ProviderError) as err:
        await faulty.sign(job())
    assert err.value.kind == "timeout" and 0.04 < loop.time() - t0 < 1.0
    assert FaultyProvider(Scripted("browser"), Fault("hang", 0.2), hang_s=9).hang_s == 0.2


@pytest.mark.parametrize("url", [API, ROOM, WEBCAST])
async def test_corrupt_answers_fail_our_verification(url: str) -> None:
    inner = Scripted("native")
    good = await inner.sign(job(url))
    bad = corrupt_result(good)
    assert not verify(bad.request.url, bad.request.user_agent).ok
    assert check_answer(bad) is not None
    assert bad.request.tokens != good.request.tokens


async def test_the_chain_falls_through_injected_faults() -> None:
    providers = apply_faults(
        [Scripted("native"), Scripted("browser"), Scripted("remote")],
        parse_faults("native=corrupt,browser=hang"),
        {"browser": 0.02},
    )
    chain = ProviderChain(providers, verify_native=True)
    answer = await chain.sign(job())
    assert answer.provider == "remote"
    assert [(n, k) for n, k, _ in answer.failures] == [("native", "verify"), ("browser", "timeout")]
    await chain.start()
    await chain.close()
    assert providers[0].inner.closed  # type: ignore[attr-defined]
