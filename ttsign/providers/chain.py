"""The provider chain: each signing call goes to the first healthy provider in `TTSIGN_PROVIDERS` order.

For each provider in order, the chain asks its circuit breaker (`breaker.Breaker`) whether it may call it;
a provider whose breaker is open is skipped (`breaker_open`). A provider that raises `ProviderError`
(`error`, `timeout`, `crashed`, `overloaded`, `bad_answer`...), raises anything else (`error`), outlives
its backstop deadline (`timeout`), or answers tokens that fail our own verification (`verify`) has the
failure recorded on its breaker and reported, and the chain falls to the next. The answer names the
provider that signed and lists (`failures`) the ones tried or skipped before it.

A `PolicyError` is the caller's fault (a URL that cannot be signed): it is re-raised at once and never
counted against a provider.

When every provider failed, the stale-if-error cache (`cache.StaleCache`, when `TTSIGN_CACHE_TTL` > 0)
answers an identical request signed less than the TTL ago; else `AllProvidersFailed` (the route's 503,
naming each provider and why). A forced provider (`SignJob.provider`) is called alone, whatever its
breaker says: no fallback, no cache, no shadow, but its outcome is still recorded.

Verification: the answers of `browser` and `remote` are always checked with `signing.verify.verify` (they
come from code we do not control); native's only with `verify_native` (`TTSIGN_VERIFY_NATIVE`), because
checking costs about as much as signing: it would double a native sign, for tokens our own tests already
hold to the reference vectors. An answer that carries no signing token passes only when its product
needs none (webcast, msToken only).

Everything goes to `ChainEvents` (the server's metrics). With `TTSIGN_SHADOW_RATE` > 0 a sample of answers
is compared with the next provider's in the background (`shadow.Shadow`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from ttsign.providers.base import ChainEvents, NullEvents, Provider, ProviderAnswer, ProviderError, SignJob
from ttsign.providers.breaker import Breaker, BreakerPolicy
from ttsign.providers.cache import StaleCache
from ttsign.providers.shadow import SIGNING_TOKENS, Shadow
from ttsign.signing.policy import PolicyError, Product
from ttsign.signing.service import SigningResult
from ttsign.signing.verify import verify

_log = logging.getLogger("ttsign.providers")

ALWAYS_VERIFIED = frozenset({"browser", "remote"})
"""Providers whose answers are always verified (see the module docstring)."""


class AllProvidersFailed(Exception):
    """Every provider failed (and no fresh cached answer): `failures` is [(name, kind, message)]."""

    def __init__(self, failures: Sequence[tuple[str, str, str]]) -> None:
        self.failures = tuple(failures)
        detail = "; ".join(f"{name}: {kind} ({message})" for name, kind, message in self.failures)
        super().__init__(f"no provider could sign: {detail}")


class UnknownProvider(ValueError):
    """A forced provider name that is not configured."""


def check_answer(result: SigningResult) -> str | None:
    """Why `result`'s tokens fail our own verification (one line), or None when they pass."""
    request = result.request
    tokens = request.tokens
    if not any(tokens.get(name) for name in SIGNING_TOKENS) and request.product is Product.WEBCAST:
        query = request.url.partition("?")[2]
        if not any(f"{name}=" in query for name in SIGNING_TOKENS):
            return None  # webcast's msToken-only product: nothing to verify
    try:
        outcome = verify(request.url, request.user_agent, request.body)
    except Exception as exc:  # a verifier that cannot read the answer rejects it
        return f"the answer's tokens cannot be checked ({type(exc).__name__})"
    if outcome.ok:
        return None
    problems = outcome.problems
    named = ", ".join(f"{token}: {', '.join(sorted(checks))}" for token, checks in sorted(problems.items()))
    return f"the answer's tokens fail verification ({named})"[:300]


class _Slot:
    """A provider and what the chain keeps for it."""

    __slots__ = ("breaker", "deadline_s", "index", "name", "provider", "verified")

    def __init__(self, index: int, provider: Provider, breaker: Breaker, verified: bool, deadline_s: float | None):
        self.index = index
        self.provider = provider
        self.name = provider.name
        self.breaker = breaker
        self.verified = verified
        self.deadline_s = deadline_s


class ProviderChain:
    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        events: ChainEvents | None = None,
        breaker: BreakerPolicy | None = None,
        cache: StaleCache | None = None,
        shadow: Shadow | None = None,
        verify_native: bool = False,
        verified: Collection[str] = ALWAYS_VERIFIED,
        deadlines: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`providers` in the order tried. `breaker`: every provider's breaker policy (defaults as the settings'
        defaults). `cache`, `shadow`: off when None. `verified`: the providers whose answers are checked
        (plus native with `verify_native`). `deadlines`: a backstop per provider name (seconds) for a
        provider whose own timeout did not fire; none for native, which signs inline."""
        if not providers:
            raise ValueError("a provider chain needs at least one provider")
        names = [p.name for p in providers]
        if len(set(names)) != len(names):
            raise ValueError(f"a provider chain names each provider once, not {', '.join(names)}")
        self.events: ChainEvents = events if events is not None else NullEvents()
        self.providers = list(providers)
        self.by_name = {p.name: p for p in self.providers}
        self.cache = cache
        self.shadow = shadow
        self.verify_native = verify_native
        policy = breaker or BreakerPolicy()
        checked = set(verified) | ({"native"} if verify_native else set())
        self._slots = [
            _Slot(
                i,
                p,
                Breaker(policy, clock=clock, wall=wall, on_change=self._breaker_hook(p.name)),
                p.name in checked,
                (deadlines or {}).get(p.name),
            )
            for i, p in enumerate(self.providers)
        ]
        self._slot_by_name = {slot.name: slot for slot in self._slots}
        self.breakers = {slot.name: slot.breaker for slot in self._slots}
        self.configured = [slot.name for slot in self._slots]
        self.demoted: dict[str, str | None] = {}
        """Providers moved down by `demote` (name -> the provider it now follows; None: last)."""
        self.companions: list[Any] = []
        """Objects started after the providers and closed before them (`start()`, `close()`): the shared
        breaker state (`ttsign.store.breakers`)."""

    def _breaker_hook(self, name: str) -> Callable[[str], None]:
        chain = self

        def changed(state: str) -> None:
            _log.info("provider %s: breaker %s", name, state)
            chain.events.breaker(name, state)

        return changed

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Start every provider. One that cannot start (`ProviderError`) is logged and left to fail its calls
        (the chain signs with the others; its breaker opens); anything else propagates."""
        for provider in self.providers:
            try:
                await provider.start()
            except ProviderError as err:
                _log.warning("provider %s did not start: %s (%s)", provider.name, err.kind, err.message)
        for companion in self.companions:
            await companion.start()

    async def close(self) -> None:
        """Stop shadow comparisons, then close every provider (each even if another's close raised)."""
        for companion in self.companions:
            try:
                await companion.close()
            except Exception:
                _log.exception("provider chain companion did not close cleanly")
        if self.shadow is not None:
            await self.shadow.close()
        first: BaseException | None = None
        for provider in self.providers:
            try:
                await provider.close()
            except Exception as exc:
                _log.exception("provider %s did not close cleanly", provider.name)
                first = first or exc
        if first is not None:
            raise first

    # -- signing ------------------------------------------------------------------------------
    async def sign(self, job: SignJob) -> ProviderAnswer:
        if job.provider is not None:
            return await self._forced(job)
        failures: list[tuple[str, str, str]] = []
        for slot in self._slots:
            breaker = slot.breaker
            if not breaker.allow():
                failures.append((slot.name, "breaker_open", breaker.open_message()))
                continue
            result = await self._call(slot, job, failures)
            if result is None:
                continue
            answer = ProviderAnswer(
                result,
                slot.name,
                failures=tuple(failures),
                browser_ua=bool(getattr(slot.provider, "browser_ua", False)),
            )
            cache = self.cache
            if cache is not None:
                cache.put(job, answer)
                self.events.cache("stored")
            shadow = self.shadow
            if shadow is not None and slot.index + 1 < len(self._slots):
                other = self._slots[slot.index + 1]
                if other.breaker.state == "closed":  # a broken provider gets no shadow traffic
                    shadow.offer(job, slot.name, result, other.provider)
            return answer
        if self.cache is not None:
            cached = self.cache.get(job)
            if cached is not None:
                self.events.cache("hit")
                return ProviderAnswer(
                    cached.result,
                    cached.provider,
                    cached=True,
                    age_s=cached.age_s,
                    failures=tuple(failures),
                    browser_ua=cached.browser_ua,
                    extra=cached.extra,
                )
            self.events.cache("miss")
        raise AllProvidersFailed(failures)

    async def _forced(self, job: SignJob) -> ProviderAnswer:
        slot = self._slot_by_name.get(job.provider or "")
        if slot is None:
            raise UnknownProvider(f"provider {job.provider!r} is not configured; configured: {', '.join(self.by_name)}")
        # a forced call goes through whatever its breaker says (its outcome is still recorded on it)
        failures: list[tuple[str, str, str]] = []
        result = await self._call(slot, job, failures)
        if result is None:
            raise AllProvidersFailed(failures)
        return ProviderAnswer(result, slot.name, browser_ua=bool(getattr(slot.provider, "browser_ua", False)))

    async def _call(self, slot: _Slot, job: SignJob, failures: list[tuple[str, str, str]]) -> SigningResult | None:
        """One provider's call: its result, or None with the failure recorded and appended to `failures`."""
        breaker = slot.breaker
        started = time.perf_counter()
        try:
            if slot.deadline_s is None:
                result = await slot.provider.sign(job)
            else:
                async with asyncio.timeout(slot.deadline_s):
                    result = await slot.provider.sign(job)
            problem = check_answer(result) if slot.verified else None
        except ProviderError as err:
            kind, message = err.kind, err.message
        except PolicyError:
            breaker.release()
            raise
        except TimeoutError:
            within = f" within {slot.deadline_s:g} s" if slot.deadline_s is not None else " in time"
            kind, message = "timeout", f"{slot.name} did not answer{within}"
        except Exception as exc:  # a provider must raise ProviderError; anything else is its failure too
            _log.exception("provider %s raised", slot.name)
            kind, message = "error", f"{slot.name} failed: {type(exc).__name__}"
        except BaseException:  # cancelled: no verdict on the provider
            breaker.release()
            raise
        else:
            if problem is None:
                breaker.success()
                self.events.call(slot.name, "ok", "", time.perf_counter() - started)
                return result
            kind, message = "verify", problem
        breaker.failure(kind, message)
        self.events.call(slot.name, "failed", kind, time.perf_counter() - started)
        failures.append((slot.name, kind, message))
        return None

    # -- order: the automatic response (ttsign.monitor.mitigation) -----------------------------
    def order(self) -> list[str]:
        """The providers' names in the order the chain tries them now."""
        return [slot.name for slot in self._slots]

    def demote(self, name: str, behind: str | None = None) -> bool:
        """Try `name` just after `behind` (default: after every other provider) until `restore(name)`.
        True when the order changed. Calls already running keep the order they started with."""
        if name not in self._slot_by_name or (behind is not None and behind not in self._slot_by_name):
            raise UnknownProvider(f"provider {behind if name in self._slot_by_name else name!r} is not configured")
        self.demoted[name] = behind
        return self._reorder()

    def restore(self, name: str) -> bool:
        """Undo `demote(name)`: back to its `TTSIGN_PROVIDERS` place. True when the order changed."""
        self.demoted.pop(name, None)
        return self._reorder()

    def _reorder(self) -> bool:
        order = sorted(self._slot_by_name.values(), key=lambda slot: self.configured.index(slot.name))
        for name, behind in self.demoted.items():
            slot = self._slot_by_name[name]
            order.remove(slot)
            at = len(order) if behind is None or behind == name else order.index(self._slot_by_name[behind]) + 1
            order.insert(at, slot)
        changed = [slot.name for slot in order] != self.order()
        for i, slot in enumerate(order):
            slot.index = i
        self._slots = order  # a new list: a call iterating the old one finishes with it
        return changed

    # -- reading ------------------------------------------------------------------------------
    def describe(self) -> list[dict[str, Any]]:
        """Each provider in order: its own `info()` (also whole under `info`), overlaid with the chain's
        account: `breaker` (state and counts, `breaker.Breaker.snapshot`), `calls`, `failures` (by kind),
        `last_error`, `cooldown_s`, `opens`, `verified`."""
        rows = []
        for slot in self._slots:
            try:
                info = dict(slot.provider.info())
            except Exception as exc:  # a status page must not fail on one provider
                info = {"info_error": type(exc).__name__}
            snap = slot.breaker.snapshot()
            rows.append(
                {
                    **info,
                    "name": slot.name,
                    "breaker": snap,
                    "calls": snap["successes"] + snap["failures"],
                    "failures": snap["failures_by_kind"],
                    "last_error": snap["last_error"],
                    "cooldown_s": snap["cooldown_s"],
                    "opens": snap["opens"],
                    "verified": slot.verified,
                    "info": info,
                }
            )
        return rows

    def shadow_report(self) -> dict[str, Any]:
        """Shadow comparisons: counts and the last disagreements (`Shadow.report`; `{"rate": 0.0}` when off)."""
        return self.shadow.report() if self.shadow is not None else {"rate": 0.0}

    def cache_report(self) -> dict[str, Any]:
        """The stale-if-error cache's counts (`{"ttl_s": 0.0}` when off)."""
        return dict(self.cache.stats()) if self.cache is not None else {"ttl_s": 0.0}
