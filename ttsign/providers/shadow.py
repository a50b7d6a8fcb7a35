"""Shadow comparison: a sample of requests is also signed, in the background, by the next provider in the
chain, and the two token sets are compared field by field.

With `TTSIGN_SHADOW_RATE` > 0 the chain hands each answer it returns to `Shadow.offer`; a sampled one is
signed again by the next provider in a background task that never delays or fails the caller's answer
(at most `max_in_flight` at once: a sample offered while that many run is dropped and counted).

`compare` decodes both answers' tokens (`algorithms.decode.decode_token`) and compares what must agree
between two correct signers of the same request: which tokens are present, and for each token its
type/layout, length (X-Bogus's; for a sealed token, its payload's, net of variable-length decimal text),
field set, record widths, version strings (`*version`), env and ub codes, the payload's constants and
flags, the page, the envelope's magic. It leaves out what must differ (timestamps, nonces, counters,
checksums, random keys and record order) and what belongs to one signer's identity or UA
(canvas/WebGL/device hashes, X-Bogus's environment header, UA and query hashes).

Disagreements go to `events.shadow(...)` (metrics), to the log once per kind (a kind is a provider pair
and a field: one line names the kinds a comparison shows for the first time), and the last `keep` are
kept for the status page (`report()`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from ttsign.algorithms.decode import decode_token
from ttsign.providers.base import ChainEvents, NullEvents, Provider, ProviderError, SignJob
from ttsign.signing.service import SigningResult

_log = logging.getLogger("ttsign.providers")

SIGNING_TOKENS = ("X-Dynosaur", "X-Bogus", "X-Gnarly")
STUB = "1"
"""The 5.3.2 page's fixed `X-Bogus=1`."""
COMPARED_FIELDS = ("env_code", "ub_code", "page", "widths")
"""Decoded payload fields compared as values (besides every `*version`, `const*` and `flag_*` field)."""
COMPARED_PREFIXES = ("const_", "constant_", "flag_")
VARIABLE_TEXT = ("webgl_hash", "canvas_hash")
"""X-Dynosaur fields written as decimal text: their digit count varies per identity, and so does the token's
length; the compared `payload_length` leaves them out."""


def _token_set(result: SigningResult) -> list[str]:
    tokens = result.request.tokens
    out = []
    for name in SIGNING_TOKENS:
        value = tokens.get(name)
        if value:
            out.append(f"{name}(stub)" if value == STUB else name)
    return out


def _features(token: str) -> dict[str, Any]:
    """What of one token must agree between two correct signers (see the module's docstring)."""
    try:
        decoded = decode_token(token)
    except ValueError as exc:
        return {"decode": f"undecodable: {str(exc)[:60]}"}
    fields = decoded.get("fields") or {}
    out: dict[str, Any] = {
        "type": decoded.get("type"),
        "layout": decoded.get("layout"),
        "payload_version": decoded.get("payload_version"),
        "fields": sorted(fields),
    }
    for key, value in fields.items():
        if key in COMPARED_FIELDS or key.endswith("version") or key.startswith(COMPARED_PREFIXES):
            out[key] = value
    envelope = decoded.get("envelope")
    if isinstance(envelope, dict) and isinstance(envelope.get("payload_length"), int):
        # the sealed payload's length, net of its variable-length text (the token's length follows from it)
        variable = sum(len(str(fields[k])) for k in VARIABLE_TEXT if k in fields)
        out["payload_length"] = envelope["payload_length"] - variable
        out["magic"] = envelope.get("magic")
    else:
        out["length"] = len(token)
    return out


def compare(a: SigningResult, b: SigningResult) -> dict[str, tuple[Any, Any]]:
    """`{field: (a's, b's)}` for every compared field that differs (empty: the answers agree). Fields are
    named `tokens` (the set of signing tokens) or `<token>.<field>` (e.g. `X-Gnarly.sdk_version`)."""
    diff: dict[str, tuple[Any, Any]] = {}
    set_a, set_b = _token_set(a), _token_set(b)
    if set_a != set_b:
        diff["tokens"] = (set_a, set_b)
    for name in SIGNING_TOKENS:
        ta, tb = a.request.tokens.get(name), b.request.tokens.get(name)
        if not ta or not tb or ta == STUB or tb == STUB:
            continue  # presence is the `tokens` field's business
        fa, fb = _features(ta), _features(tb)
        for key in sorted(fa.keys() | fb.keys()):
            va, vb = fa.get(key), fb.get(key)
            if va != vb:
                if key == "fields":  # say which fields, not both whole lists
                    va, vb = sorted(set(va or ()) - set(vb or ())), sorted(set(vb or ()) - set(va or ()))
                diff[f"{name}.{key}"] = (va, vb)
    return diff


class Shadow:
    """Samples answers and compares them with the next provider's, in the background."""

    def __init__(
        self,
        rate: float,
        events: ChainEvents | None = None,
        *,
        max_in_flight: int = 4,
        keep: int = 20,
        rng: random.Random | None = None,
        wall: Callable[[], float] = time.time,
        deadline_s: float = 30.0,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the shadow rate is a fraction from 0 to 1")
        self.rate = rate
        self.events: ChainEvents = events if events is not None else NullEvents()
        self.max_in_flight = max_in_flight
        self.deadline_s = deadline_s
        self._rng = rng or random.Random()
        self._wall = wall
        self._tasks: set[asyncio.Task[None]] = set()
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)
        self.seen_kinds: set[str] = set()
        self.kinds: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()

    def sampled(self) -> bool:
        return self.rate > 0.0 and (self.rate >= 1.0 or self._rng.random() < self.rate)

    def offer(self, job: SignJob, provider: str, result: SigningResult, other: Provider) -> bool:
        """Maybe compare `result` (signed by `provider`) with `other`'s answer to `job`; True when started."""
        if not self.sampled():
            return False
        self.counts["sampled"] += 1
        if len(self._tasks) >= self.max_in_flight:
            self.counts["dropped"] += 1
            return False
        task = asyncio.get_running_loop().create_task(self._run(job, provider, result, other))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, job: SignJob, provider: str, result: SigningResult, other: Provider) -> None:
        try:
            async with asyncio.timeout(self.deadline_s):
                theirs = await other.sign(job)
        except asyncio.CancelledError:
            raise
        except ProviderError as err:
            return self._failed(provider, other.name, err.kind)
        except TimeoutError:
            return self._failed(provider, other.name, "timeout")
        except Exception as exc:  # the caller is long answered: nothing may escape this task
            return self._failed(provider, other.name, type(exc).__name__)
        try:
            diff = compare(result, theirs)
        except Exception as exc:  # a decoder bug must not kill the loop's task
            _log.exception("shadow comparison failed")
            return self._failed(provider, other.name, type(exc).__name__)
        self.record(job, provider, other.name, diff)

    def _failed(self, provider: str, other: str, why: str) -> None:
        self.counts["failed"] += 1
        self.events.shadow(provider, other, "failed", ())
        _log.debug("shadow signing by %s failed: %s", other, why)

    def record(self, job: SignJob, provider: str, other: str, diff: dict[str, tuple[Any, Any]]) -> None:
        """Count one comparison (and keep, report and log-once a disagreement)."""
        self.counts["compared"] += 1
        fields = tuple(diff)
        if not diff:
            self.counts["agreed"] += 1
            self.events.shadow(provider, other, "agree", ())
            return
        self.counts["disagreed"] += 1
        self.kinds.update(fields)
        self.events.shadow(provider, other, "disagree", fields)
        self.recent.append(
            {
                "at": round(self._wall(), 3),
                "provider": provider,
                "other": other,
                "host": job.parsed.host,
                "path": job.parsed.path,
                "fields": {k: {provider: a, other: b} for k, (a, b) in diff.items()},
            }
        )
        new = [name for name in fields if f"{provider}/{other}:{name}" not in self.seen_kinds]
        if new:  # one line for the kinds not seen before; never again for them
            self.seen_kinds.update(f"{provider}/{other}:{name}" for name in new)
            detail = "; ".join(f"{name}: {diff[name][0]!r} vs {diff[name][1]!r}" for name in new)
            _log.warning("shadow: %s and %s disagree (%s)", provider, other, detail[:2000])

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for the comparisons in flight (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def report(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            **{k: self.counts[k] for k in ("sampled", "compared", "agreed", "disagreed", "failed", "dropped")},
            "in_flight": self.in_flight,
            "kinds": dict(self.kinds),
            "recent": list(self.recent),
        }
