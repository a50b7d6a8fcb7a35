"""What `/health`, `/livez` and `/readyz` report: each component's state, with the evidence for it.

Components:

* **signer**: a self-test, run at start-up (and at the latest on the first probe): the algorithms must
  reproduce three real-SDK reference vectors (X-Bogus, X-Gnarly 5.3.2, X-Dynosaur 5.3.2; see
  `health_vectors`), and the server's own `Signer` must sign a reference `/api/` URL and a classic URL
  into tokens that decode and verify against those requests. Pass/fail, when, how long, each check.
* **providers**: each signing provider in `TTSIGN_PROVIDERS` order (`providers_component`), from the
  chain's own account (`ProviderChain.describe()`): its breaker state (`closed`, `half_open`, `open`),
  counts, last error, and a status: `down` while its breaker is open or it is unavailable (not started,
  not installed, its browser failed to launch), `degraded` while half-open, else `ok` (`native` is also
  `down` when the signer self-test failed).
* **store**: the rate-limit store (which one), probed with a read; a shared (Redis) store reports its own
  last known state: `degraded`, with the reason, while Redis fails and limits use local buckets.
* **upstream**: per TikTok base (www, webcast, ttwid): the last call's outcome and time, the last
  error's kind and time, calls and failures, and a circuit state (`open` after
  `CIRCUIT_OPEN_AFTER` consecutive failures; reported only: calls are still tried), from what
  `Upstream` observed of real traffic (no probes are sent to TikTok). A base is `failing` while its last
  call failed less than `RECENT_S` ago; an older failure nobody retried reads `failed_earlier`.
* **identity_pool**: identities held, their ages and connects left this hour (never a cookie value).

Overall: `down` (HTTP 503) when the signer self-test failed, the store fails, or every provider is down
(every breaker open): nothing can be signed; `degraded` (HTTP 200) when some provider is down or
half-open (the chain signs with the others), the last call to some TikTok base failed or the pool is at
its pace limit: signing still works, so a load balancer should keep the server; `ok` (HTTP 200) otherwise.
`/livez` is 200 while the event loop answers; `/readyz` is 200 once start-up is done and the signer
self-test passed, 503 before, after a failed self-test, and while the server shuts down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ttsign import __version__
from ttsign.algorithms import xbogus
from ttsign.algorithms.payloads import dynosaur532, gnarly513, gnarly532
from ttsign.server import metrics
from ttsign.server.health_vectors import REFERENCE_VECTORS
from ttsign.signing.policy import parse_url
from ttsign.signing.signer import SignedRequest, Signer
from ttsign.tiktok.http import CIRCUIT_OPEN_AFTER, Observation
from ttsign.vectors import check_vector

OK, DEGRADED, DOWN = "ok", "degraded", "down"
HTTP_STATUS = {OK: 200, DEGRADED: 200, DOWN: 503}
LOADED_AT = time.time()  # when ttsign was imported: the process' start, near enough
SHOWN_UPSTREAMS = ("www", "webcast", "ttwid")
RECENT_S = 300.0
"""An upstream whose last call failed within this many seconds is `failing` (the server `degraded`)."""
REFERENCE_URLS = (
    "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30&cursor=0&device_id=7300000000000000001"
    "&secUid=MS4wLjABAAAAttsignSelfTest",
    "https://www.tiktok.com/@ttsign_selftest/live?aid=1988&lang=en",
)


@dataclass
class SelfTest:
    passed: bool
    at: float
    ms: float
    checks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "at": round(self.at, 3), "ms": self.ms, "checks": self.checks}


def _verify_signed(signed: SignedRequest, business_query: str, now: float) -> list[str]:
    """Why the tokens of `signed` do not match its request (empty: they verify)."""
    tokens, ua, body = signed.tokens, signed.user_agent, signed.body
    problems: list[str] = []
    for name, value in tokens.items():
        if name != "msToken" and f"{name}={value}" not in signed.url:
            problems.append(f"{name} is not in the signed URL")
    if "X-Dynosaur" in tokens:  # 5.3.2: X-Dynosaur over Q, X-Gnarly over S (gnarly-532.md section 0)
        g = gnarly532.decode(tokens["X-Gnarly"])
        bad = gnarly532.verify(
            g, sealed_query=signed.signed_query, body=body, user_agent=ua, now=now, env_codes=None, ub_codes=None
        )
        bad.update(
            dynosaur532.verify(
                dynosaur532.decode(tokens["X-Dynosaur"]),
                business_query=business_query,
                user_agent=ua,
                now=now,
                gnarly=g,
            )
        )
        problems += [f"X-Gnarly/X-Dynosaur {k}: {v}" for k, v in sorted(bad.items())]
    elif "X-Gnarly" in tokens:  # 5.1.3
        bad = gnarly513.verify(
            gnarly513.decode(tokens["X-Gnarly"]), query_string=signed.signed_query, body=body, user_agent=ua, now=now
        )
        problems += [f"X-Gnarly {k}: {v}" for k, v in sorted(bad.items())]
    if tokens.get("X-Bogus", "1") != "1":
        problems += [
            f"X-Bogus {f}" for f in xbogus.verify(tokens["X-Bogus"], signed.signed_query, body, ua, now=int(now))
        ]
    if not tokens or "X-Bogus" not in tokens:
        problems.append("no X-Bogus token")
    return problems


def signer_self_test(signer: Signer, *, clock: Any = time.time) -> SelfTest:
    """The reference vectors, then the server's own signer on the reference URLs (see the module's docstring)."""
    started, at = time.perf_counter(), clock()
    checks: list[dict[str, Any]] = []
    for vector in REFERENCE_VECTORS:
        outcome = check_vector(vector)
        checks.append(
            {
                "check": f"vector {outcome.kind} {outcome.id}",
                "passed": outcome.status == "passed",
                "detail": outcome.detail,
            }
        )
    for url in REFERENCE_URLS:
        name = f"sign {parse_url(url).path}"
        try:
            signed = signer.sign(url, "GET", b"", None, None)
            problems = _verify_signed(signed, parse_url(url).query, clock())
            detail = "; ".join(problems) or f"{signed.product.value}: {', '.join(signed.tokens)} verify"
        except Exception as exc:  # a broken signer is what this test exists to find
            problems, detail = ["raised"], f"raised {type(exc).__name__}: {str(exc)[:200]}"
        checks.append({"check": name, "passed": not problems, "detail": detail})
    ms = round((time.perf_counter() - started) * 1000, 2)
    return SelfTest(all(c["passed"] for c in checks), at, ms, checks)


def _ago(at: float, now: float) -> float | None:
    return round(now - at, 1) if at else None


def upstream_component(observed: dict[str, Observation], now: float) -> dict[str, Any]:
    bases: dict[str, Any] = {}
    for label in (*SHOWN_UPSTREAMS, *sorted(set(observed) - set(SHOWN_UPSTREAMS))):
        o = observed.get(label)
        if o is None or (label not in SHOWN_UPSTREAMS and not o.calls):
            continue
        if not o.calls:
            state = "unknown"
        elif o.last_outcome == "ok":
            state = "ok"
        else:  # a failure nobody has retried for RECENT_S is shown, but no longer degrades the server
            state = "failing" if now - o.last_at <= RECENT_S else "failed_earlier"
        bases[label] = {
            "status": state,
            "circuit": o.circuit,
            "calls": o.calls,
            "failures": o.failures,
            "consecutive_failures": o.consecutive_failures,
            "last": None
            if not o.calls
            else {
                "outcome": o.last_outcome,
                "status": o.last_status or None,
                "at": round(o.last_at, 3),
                "ago_s": _ago(o.last_at, now),
                "ms": o.last_ms,
            },
            "last_ok_at": round(o.last_ok_at, 3) if o.last_ok_at else None,
            "last_error": None
            if not o.last_error_at
            else {"kind": o.last_error, "at": round(o.last_error_at, 3), "ago_s": _ago(o.last_error_at, now)},
        }
    failing = sorted(k for k, v in bases.items() if v["status"] == "failing")
    return {
        "status": DEGRADED if failing else OK,
        "failing": failing,
        "circuit_open_after": CIRCUIT_OPEN_AFTER,
        "bases": bases,
    }


UNUSABLE_STATES = frozenset({"unavailable", "crashed", "stopped", "failed"})
"""A provider `state` (from its `info()`) in which it cannot sign: shown as `down`."""


def _breaker_state(row: dict[str, Any]) -> str:
    breaker = row.get("breaker")
    if isinstance(breaker, dict):
        breaker = breaker.get("state")
    return breaker if isinstance(breaker, str) and breaker else "closed"


def providers_component(rows: list[dict[str, Any]], signer_ok: bool) -> tuple[str, list[dict[str, Any]], list[str]]:
    """(overall status the providers give, one entry per provider, reasons) from `ProviderChain.describe()`."""
    out: list[dict[str, Any]] = []
    reasons: list[str] = []
    for row in rows:
        name = str(row.get("name", "?"))
        breaker = _breaker_state(row)
        state = row.get("state")
        if breaker == "open" or (isinstance(state, str) and state in UNUSABLE_STATES):
            status = DOWN
        elif name == "native" and not signer_ok:
            status = DOWN
        elif breaker == "half_open":
            status = DEGRADED
        else:
            status = OK
        entry: dict[str, Any] = {"name": name, "status": status, "breaker": breaker}
        for key in ("state", "counts", "calls", "failures", "last_error", "cooldown_s", "opens"):
            if key in row:
                entry[key] = row[key]
        if isinstance(row.get("breaker"), dict):
            entry["breaker_detail"] = row["breaker"]
        if name == "native":
            entry.setdefault("detail", "the in-process signer")
        out.append(entry)
        if status == DOWN and breaker == "open":
            reasons.append(f"provider {name}: breaker open")
        elif status == DOWN and isinstance(state, str) and state in UNUSABLE_STATES:
            reasons.append(f"provider {name}: {state}")
        elif status == DEGRADED:
            reasons.append(f"provider {name}'s breaker is half-open (probing)")
    down = [e for e in out if e["status"] == DOWN]
    if out and len(down) == len(out):
        overall = DOWN
    elif down or any(e["status"] == DEGRADED for e in out):
        overall = DEGRADED
    else:
        overall = OK
    return overall, out, reasons


def _request_counts() -> dict[str, int]:
    """Requests answered by this process, from the HTTP metrics the middleware keeps."""
    total = server_errors = client_errors = 0
    for family in metrics.REQUESTS.collect():
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            n = int(sample.value)
            total += n
            status = str(sample.labels.get("status", "0"))
            if status.startswith("5"):
                server_errors += n
            elif status.startswith("4"):
                client_errors += n
    return {"requests": total, "errors_5xx": server_errors, "errors_4xx": client_errors}


class HealthTracker:
    """One per app (on `app.state.health`): the self-test result, start-up state, and the answers."""

    def __init__(self, services: Any, *, clock: Any = time.time) -> None:
        self.services = services
        self.clock = clock
        self.created_at = clock()
        self.self_test: SelfTest | None = None
        self.lifecycle = "created"  # created -> started (lifespan start-up done) -> stopping

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start-up: run the signer self-test (its result is kept for the life of the process)."""
        self.ensure_self_test()
        self.lifecycle = "started"

    def stop(self) -> None:
        self.lifecycle = "stopping"

    def ensure_self_test(self) -> SelfTest:
        if self.self_test is None:
            self.self_test = signer_self_test(self.services.signer, clock=self.clock)
        return self.self_test

    # -- answers -----------------------------------------------------------------------------------
    def ready(self) -> tuple[bool, dict[str, Any]]:
        test = self.ensure_self_test()
        ready = test.passed and self.lifecycle != "stopping"
        startup = {"created": "done (served without an ASGI lifespan)", "started": "done", "stopping": "stopping"}
        return ready, {
            "status": "ready" if ready else "not_ready",
            "timestamp": int(self.clock()),
            "checks": {
                "signer_self_test": "passed" if test.passed else "failed",
                "startup": startup[self.lifecycle],
            },
        }

    def live(self) -> dict[str, Any]:
        now = self.clock()
        return {"status": OK, "timestamp": int(now), "uptime_s": round(now - LOADED_AT, 1)}

    def health(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) for `/health`."""
        svc, now = self.services, self.clock()
        test = self.ensure_self_test()
        reasons: list[str] = []
        signer = {
            "status": OK if test.passed else DOWN,
            "gnarly_version": svc.signer.options.gnarly_version,
            "preset": svc.signer.options.preset,
            "accel": getattr(svc.signer, "accel_path", "python"),  # the path signing takes: compiled or python
            "self_test": test.to_dict(),
        }
        if not test.passed:
            failed = [c["check"] for c in test.checks if not c["passed"]]
            reasons.append("signer self-test failed: " + ", ".join(failed))
        providers_status, providers, provider_reasons = providers_component(svc.providers.describe(), test.passed)
        reasons += provider_reasons
        components: dict[str, Any] = {"signer": signer, "providers": providers, "store": self._store(reasons)}
        client = svc.upstream
        up = getattr(client, "upstream", None)
        if up is not None and isinstance(getattr(up, "observed", None), dict):
            components["upstream"] = upstream_component(up.observed, now)
            for label in components["upstream"]["failing"]:
                base = components["upstream"]["bases"][label]
                reasons.append(f"TikTok {label}: last call {base['last']['outcome']} {base['last']['ago_s']} s ago")
        else:
            components["upstream"] = {"status": "not_configured", "bases": {}}
        components["identity_pool"] = self._pool(client, reasons)
        status = DOWN if DOWN in (signer["status"], components["store"]["status"], providers_status) else OK
        lesser = (providers_status, components["upstream"]["status"], components["identity_pool"]["status"])
        if status == OK and DEGRADED in lesser:
            status = DEGRADED
        if status == OK and components["store"]["status"] == DEGRADED:  # falling back: limits are local shares
            status = DEGRADED
        body = {
            "status": status,
            "timestamp": int(now),
            "version": __version__,
            "uptime_s": round(now - LOADED_AT, 1),
            "reasons": reasons,
            "counts": _request_counts(),
            "components": components,
        }
        flag = getattr(svc, "maintenance", None)
        if flag is not None:  # maintenance mode: shown, not a health state (the signing routes answer 503)
            body["maintenance"] = flag.describe()
            if flag.current.enabled:
                reasons.append(f"maintenance mode on ({flag.current.by}): signing and connect routes answer 503")
        return HTTP_STATUS[status], body

    def _store(self, reasons: list[str]) -> dict[str, Any]:
        svc = self.services
        kind = svc.settings.store.split(":", 1)[0]
        own = getattr(svc.limiter.store, "health", None)
        if callable(own):  # a shared store's last known state (`degraded` while limits fall back to local buckets)
            state: dict[str, Any] = own()
            if state.get("status") != OK:
                reasons.append(f"store {state.get('kind', kind)} {state.get('status')}: {state.get('reason', '')}")
            return state
        try:
            svc.limiter.store.peek("ttsign:health", 1, 60.0, self.clock())
        except Exception as exc:  # a store that cannot answer a read cannot rate limit
            reasons.append(f"store {kind} failed a read ({type(exc).__name__})")
            return {"kind": kind, "status": DOWN, "detail": f"a read failed: {type(exc).__name__}"}
        detail = "in-process: per worker, emptied on restart" if kind == "memory" else "answered a read"
        return {"kind": kind, "status": OK, "detail": detail}

    def _pool(self, client: Any, reasons: list[str]) -> dict[str, Any]:
        pool = getattr(client, "pool", None)
        if pool is None or not hasattr(pool, "stats"):
            return {"status": "not_configured"}
        stats = pool.stats()
        full = stats["identities"] >= stats["max_identities"] and stats["connects_left"] == 0
        if full:
            reasons.append("identity pool: every identity is at its pace limit")
        return {"status": DEGRADED if full else OK, **stats}

    def update_pool_gauges(self) -> None:
        pool = getattr(self.services.upstream, "pool", None)
        if pool is not None and hasattr(pool, "stats"):
            stats = pool.stats()
            metrics.POOL_IDENTITIES.set(stats["identities"])
            metrics.POOL_CONNECTS_LEFT.set(stats["connects_left"])
            metrics.POOL_MAX.set(stats["max_identities"])


def tracker(app: Any) -> HealthTracker:
    """The app's tracker (`app.state.health`), made on first use."""
    found = getattr(app.state, "health", None)
    if not isinstance(found, HealthTracker):
        found = HealthTracker(app.state.services)
        app.state.health = found
    return found


def on_startup(app: Any) -> None:
    tracker(app).start()


def on_shutdown(app: Any) -> None:
    tracker(app).stop()
