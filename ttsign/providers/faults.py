"""Fault injection for tests and drills: `TTSIGN_PROVIDER_FAULTS` makes named providers fail on purpose.

The setting is a comma-separated list of `provider=fault` (e.g. `native=error,browser=hang`). It is meant
for tests (the end-to-end fallback tests make native fail this way) and for operators' drills ("does the
chain fall to the browser when native breaks?"); never set it in production. Faults:

* `error`, `timeout`, `crashed`, `overloaded`, `unavailable`, `bad_answer`: every sign raises
  `ProviderError` of that kind, without calling the provider;
* `hang` (or `hang:SECONDS`): every sign waits (by default the provider's own timeout setting, e.g.
  `TTSIGN_BROWSER_TIMEOUT`; `HANG_S` for native) and then fails with `timeout`, as a provider whose own
  deadline fired would;
* `corrupt`: the provider signs, then its tokens are altered so that our verification rejects them
  (the chain's `verify` failure path; native's answers are verified only with `TTSIGN_VERIFY_NATIVE=1`,
  so `native=corrupt` needs it, or the corrupt tokens are served).

`start`, `close` and `info` go to the wrapped provider (`info` also says which fault is injected).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, get_args

from ttsign.providers.base import FailureKind, Provider, ProviderError, SignJob
from ttsign.signing.service import SigningResult

SETTING = "TTSIGN_PROVIDER_FAULTS"
HANG_S = 5.0
"""How long `hang` waits before it fails, unless `hang:SECONDS` says (the providers' default timeout)."""
RAISED: tuple[str, ...] = tuple(k for k in get_args(FailureKind) if k not in ("verify", "breaker_open"))
FAULTS = (*RAISED, "hang", "corrupt")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    """One of `FAULTS`."""
    seconds: float | None = None
    """For `hang`: how long a sign waits before it fails (None: the provider's timeout, see `apply_faults`)."""

    def __str__(self) -> str:
        if self.kind == "hang" and self.seconds is not None:
            return f"hang:{self.seconds:g}"
        return self.kind


def parse_faults(text: str, known: tuple[str, ...] | None = None) -> dict[str, Fault]:
    """`{provider: Fault}` from the setting's text; a one-line ValueError naming the setting otherwise."""
    faults: dict[str, Fault] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, spec = (part.strip().lower() for part in item.partition("="))
        if not sep or not name or not spec:
            raise ValueError(f"{SETTING}: {item!r} is not provider=fault (e.g. native=error)")
        if known is not None and name not in known:
            raise ValueError(f"{SETTING}: unknown provider {name!r}; known: {', '.join(known)}")
        if name in faults:
            raise ValueError(f"{SETTING}: provider {name!r} is named twice")
        kind, _, arg = spec.partition(":")
        if kind not in FAULTS:
            raise ValueError(f"{SETTING}: unknown fault {kind!r} for {name}; known: {', '.join(FAULTS)}")
        seconds: float | None = None
        if arg:
            if kind != "hang":
                raise ValueError(f"{SETTING}: only hang takes a duration (hang:SECONDS), not {spec!r}")
            try:
                seconds = float(arg)
            except ValueError:
                seconds = -1.0
            if not 0 <= seconds < 3600:
                raise ValueError(f"{SETTING}: {spec!r}: the hang duration must be 0 to 3600 seconds")
        faults[name] = Fault(kind, seconds)
    return faults


def corrupt_result(result: SigningResult) -> SigningResult:
    """The same answer with every signing token altered (one character changed), or, for an answer that
    carries none, a broken X-Bogus added: either way `signing.verify.verify` rejects it."""
    request = result.request
    tokens = dict(request.tokens)
    url = request.url
    changed = False
    for name in ("X-Dynosaur", "X-Bogus", "X-Gnarly"):
        value = tokens.get(name)
        if not value or value == "1":  # "1" is the 5.3.2 page's fixed X-Bogus stub
            continue
        # change a character in the middle (the last one may carry padding bits only)
        mid = len(value) // 2
        bad = value[:mid] + ("A" if value[mid] != "A" else "B") + value[mid + 1 :]
        tokens[name] = bad
        url = url.replace(f"{name}={value}", f"{name}={bad}")
        changed = True
    if not changed:
        tokens["X-Bogus"] = "DFSz" + "A" * 24
        url = f"{url}{'&' if '?' in url else '?'}X-Bogus={tokens['X-Bogus']}"
    return replace(result, request=replace(request, url=url, tokens=tokens))


class FaultyProvider:
    """`inner`, failing as `fault` names."""

    def __init__(self, inner: Provider, fault: Fault, *, hang_s: float = HANG_S) -> None:
        self.inner = inner
        self.fault = fault
        self.name = inner.name
        self.hang_s = fault.seconds if fault.seconds is not None else hang_s

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def sign(self, job: SignJob) -> SigningResult:
        kind = self.fault.kind
        if kind == "corrupt":
            return corrupt_result(await self.inner.sign(job))
        if kind == "hang":
            await asyncio.sleep(self.hang_s)
            raise ProviderError("timeout", f"{self.name} did not answer within {self.hang_s:g} s (injected hang)")
        raise ProviderError(kind, f"injected fault {kind} ({SETTING})")  # type: ignore[arg-type]

    def info(self) -> dict[str, Any]:
        return {**self.inner.info(), "injected_fault": str(self.fault)}


def apply_faults(
    providers: list[Provider], faults: dict[str, Fault], hang_s: dict[str, float] | None = None
) -> list[Provider]:
    """`providers`, each one named in `faults` wrapped in a `FaultyProvider`; `hang_s` gives each provider's
    own timeout (what a plain `hang` waits; `HANG_S` for one not in it)."""
    waits = hang_s or {}
    return [
        FaultyProvider(p, faults[p.name], hang_s=waits.get(p.name, HANG_S)) if p.name in faults else p
        for p in providers
    ]
