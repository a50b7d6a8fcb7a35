"""`ttsign monitor --simulate KIND`: the whole response to a change, run in this process against an injected
change, printed as a timeline with times: the change, the monitor cycle that detects it, the event, the
alert (to the configured `TTSIGN_ALERT_URLS`, titled `[simulation]`), the automatic mitigation and what a
caller sees meanwhile, then the change reverted, the recovery and the mitigation undone.

The simulation builds its own app (`create_app`) from the operator's settings with the store forced to
`memory` (a simulated maintenance never reaches the real instances sharing a Redis), no API keys (its callers
are in-process), no background monitor and no browser: the SDK oracle is a stand-in provider named `browser`
that signs with a `Signer` of its own (what TikTok's SDK in Chromium does for the real agreement check), and
the breakers cool down for 0.5 s. No request leaves the process except the alerts. Kinds:

* `drift`: TikTok's SDK starts signing another X-Gnarly layout (the stand-in oracle's signer changes). The real
  agreement check (`ttsign.monitor.agreement`) finds it in one cycle; native is demoted behind the browser
  (callers get the SDK's tokens); reverted, the next cycle's recovery puts native back.
* `new-build`: the live page starts loading a new SDK build (another file, version and hash). The real SDK
  build watch (`ttsign.monitor.sdk_watch`) reads the page through the upstream client, whose transport is an
  in-process stand-in for TikTok's page; the pinned baseline is what it read before the change. No automatic
  action (the alert says the next step); reverted, the recovery.
* `socket-refusal`: the push socket refuses the configured signing mode and accepts another. Injected at the
  check level: the live-probe check (which needs a real LIVE user) is replaced by one that reports what the
  real probe reports (`ws_mode_change`; with `TTSIGN_WS_SIGNER=auto` the probe itself switches the mode).
* `provider-down`: every provider fails. Callers' calls fail until the chain's breakers report an outage
  (`provider_outage`), which turns maintenance mode on (callers get 503 with `Retry-After`); once the
  providers answer again the outage probe signs, the outage recovers and maintenance goes off.

Figures (`Timeline.figures`): `cycle_s` (one monitor cycle), `detected_s` (change -> its event),
`mitigated_s` (change -> the automatic action), `recovered_s` (revert -> the recovery). A change is
detected within one cycle of the server's monitor, so in a server add up to `TTSIGN_MONITOR_INTERVAL`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ttsign.monitor.model import CheckResult, Event

KINDS = ("drift", "new-build", "socket-refusal", "provider-down")
SIMULATION = "[simulation] "
DETECTED = {"drift": "drift", "new-build": "sdk_build", "socket-refusal": "ws_mode_change"}
DETECTED["provider-down"] = "provider_outage"
"""The event that is each change's detection."""
SIGN_URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30&cursor=0&secUid=MS4wLjABAAAAsimulate"
SDK_OLD = ("webmssdk_1.0.0.368.js", "1.0.0.368", "5.1.3-ZTCA")
SDK_NEW = ("webmssdk_1.0.0.372.js", "1.0.0.372", "5.1.4-ZTCA")


class SimulationError(RuntimeError):
    """The simulation could not run (one line saying why)."""


@dataclass
class Step:
    t: float  # seconds since the simulation began
    what: str  # change, cycle, event, alert, mitigation, caller, revert, recovery, note
    text: str

    def line(self) -> str:
        return f"{self.t:8.3f} s  {self.what:<10}  {self.text}"


@dataclass
class Timeline:
    kind: str
    steps: list[Step] = field(default_factory=list)
    figures: dict[str, float | None] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    ok: bool = False  # the change was detected and recovered, and every mitigation undone

    def lines(self) -> list[str]:
        out = [f"simulation: {self.kind} (in-process; alerts marked {SIMULATION.strip()})"]
        out += [step.line() for step in self.steps]
        shown = ", ".join(f"{k} {v:.3f} s" if v is not None else f"{k} -" for k, v in self.figures.items())
        out.append(f"figures: {shown}")
        out.append(
            f"alerts: {self.alerts.get('decided', 0)} decided, {self.alerts.get('sent', 0)} delivered, "
            f"{self.alerts.get('failed', 0)} failed, to {self.alerts.get('sinks', 0)} sink(s)"
        )
        out.append("result: " + ("detected, mitigated where it applies, recovered" if self.ok else "INCOMPLETE"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ok": self.ok,
            "figures": self.figures,
            "alerts": self.alerts,
            "steps": [dataclasses.asdict(s) for s in self.steps],
        }


# ---- the stand-ins ------------------------------------------------------------------------------


class StandInOracle:
    """A provider named `browser` that signs with its own `Signer`: TikTok's SDK, for the simulation."""

    name = "browser"
    browser_ua = False

    def __init__(self, options: Any = None) -> None:
        from ttsign.signing.service import SigningService
        from ttsign.signing.signer import Signer, SignerOptions

        self._service_of = lambda opts: SigningService(Signer(opts))
        self.options = options or SignerOptions()
        self.service = self._service_of(self.options)
        self.fault: str | None = None

    def change(self, **options: Any) -> None:
        self.service = self._service_of(dataclasses.replace(self.options, **options))

    def revert(self) -> None:
        self.service = self._service_of(self.options)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def sign(self, job: Any) -> Any:
        from ttsign.providers.base import ProviderError

        if self.fault:
            raise ProviderError("unavailable", f"{self.name}: {self.fault} (simulated)")
        return self.service.sign(job.url, job.method, job.body, job.user_agent, job.ms_token, parsed=job.parsed)

    def info(self) -> dict[str, Any]:
        return {"state": "simulated", "detail": "a stand-in for TikTok's SDK (ttsign monitor --simulate)"}


class Faulty:
    """Wraps a provider: fails every call while `fault` is set."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.fault: str | None = None

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def sign(self, job: Any) -> Any:
        from ttsign.providers.base import ProviderError

        if self.fault:
            raise ProviderError("unavailable", f"{self.name}: {self.fault} (simulated)")
        return await self.inner.sign(job)

    def info(self) -> dict[str, Any]:
        return dict(self.inner.info())


def _page(sdk: tuple[str, str, str]) -> dict[str, bytes]:
    name, scm, sdk_version = sdk
    html = (
        "<!doctype html><html><head><title>TikTok LIVE</title>"
        f'<script src="/static/sdk/{name}"></script></head><body><div id="app"></div></body></html>'
    )
    script = (
        f'(function(){{var scmVersion="{scm}";var sdkVersion="{sdk_version}";'
        f'var report="/web/report";window.byted_acrawler={{init:function(){{}}}};}})();'
    )
    return {"page": html.encode(), f"/static/sdk/{name}": script.encode()}


class PageTransport:
    """An in-process stand-in for TikTok's live page and its SDK script (an `Upstream` transport)."""

    def __init__(self) -> None:
        self.files = _page(SDK_OLD)
        self.requests = 0

    def change(self) -> None:
        self.files = _page(SDK_NEW)

    def revert(self) -> None:
        self.files = _page(SDK_OLD)

    async def send(self, method: str, url: str, **_: Any) -> Any:
        from urllib.parse import urlsplit

        from ttsign.tiktok.http import TransportResponse

        self.requests += 1
        path = urlsplit(url).path
        if path in self.files:
            return TransportResponse(200, {"content-type": "application/javascript"}, [], self.files[path], url)
        return TransportResponse(200, {"content-type": "text/html; charset=utf-8"}, [], self.files["page"], url)

    async def close(self) -> None:
        return None


# ---- the run ------------------------------------------------------------------------------------


class _Run:
    def __init__(self, kind: str, settings: Any) -> None:
        self.kind = kind
        self.settings = settings.model_copy(
            update={
                "store": "memory",
                "api_keys": "",  # open mode: the simulated callers are this process, no key needed
                "api_keys_file": "",
                "providers": "native",
                "provider_faults": "",
                "monitor_interval_s": 0.0,
                "cache_ttl_s": 0.0,
                "shadow_rate": 0.0,
            }
        )
        self.timeline = Timeline(kind)
        self.t0 = time.monotonic()
        self.seen: list[tuple[float, Event]] = []
        self.app: Any = None
        self.svc: Any = None

    def now(self) -> float:
        return time.monotonic() - self.t0

    def step(self, what: str, text: str) -> float:
        t = self.now()
        self.timeline.steps.append(Step(round(t, 3), what, text))
        return t

    # -- the app ----------------------------------------------------------------------------------
    def build(self) -> None:
        from ttsign.providers.breaker import BreakerPolicy
        from ttsign.providers.chain import ProviderChain
        from ttsign.server.app import create_app

        self.app = create_app(self.settings)
        svc = self.svc = self.app.state.services
        old = svc.providers
        self.native = Faulty(old.by_name["native"])
        self.oracle = StandInOracle(svc.signer.options)
        chain = ProviderChain([self.native, self.oracle], breaker=BreakerPolicy(failures=2, cooldown_s=0.5))
        svc.providers = svc.chain = chain
        try:
            from ttsign.monitor import breaker_events
        except ImportError:  # a build without the breaker events: no provider_outage (provider-down says so)
            pass
        else:
            breaker_events.attach(chain, svc.events)
        self._mark_events()

    def _mark_events(self) -> None:
        """Every event on the bus is titled `[simulation]` (alerts too) and recorded with its time."""
        bus = self.svc.events
        emit = type(bus).emit
        run = self

        async def marked(event: Event) -> None:
            if not event.title.startswith(SIMULATION):
                event = dataclasses.replace(
                    event, title=SIMULATION + event.title, detail={**event.detail, "simulation": True}
                )
            run.seen.append((run.now(), event))
            await emit(bus, event)

        bus.emit = marked

    async def call(self) -> str:
        """One caller's signing call (POST /v1/sign through the app): what it got."""
        import httpx

        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://simulation") as client:
            r = await client.post("/v1/sign", json={"url": SIGN_URL})
        if r.status_code == 200:
            return f"200 signed by {r.headers.get('x-ttsign-provider', '?')}"
        retry = f", Retry-After {r.headers['retry-after']}" if "retry-after" in r.headers else ""
        try:
            message = str(r.json().get("message", ""))
        except ValueError:
            message = r.text[:80]
        return f"{r.status_code}{retry}: {message[:100]}"

    # -- events ---------------------------------------------------------------------------------
    def events_since(self, mark: int) -> list[tuple[float, Event]]:
        return self.seen[mark:]

    async def settle(self) -> None:
        """Let scheduled emits run and the alert queues drain (bounded)."""
        for _ in range(5):
            await asyncio.sleep(0.01)
        alerts = getattr(self.svc, "alerts", None)
        idle = getattr(alerts, "idle", None)
        if callable(idle):
            try:
                await idle(timeout=15.0)
            except TimeoutError:
                self.step("note", "alert delivery still pending after 15 s")

    def show(self, mark: int) -> None:
        for t, event in self.events_since(mark):
            what = {"mitigation": "mitigation", "recovery": "recovery"}.get(event.kind, "event")
            if event.kind == "recovery" and event.key.startswith("mitigation:"):
                what = "mitigation"
            title = event.title.removeprefix(SIMULATION)
            self.timeline.steps.append(Step(round(t, 3), what, f"{event.kind} [{event.key}] {title}"[:240]))

    def first(self, mark: int, match: Callable[[Event], bool]) -> float | None:
        for t, event in self.events_since(mark):
            if match(event):
                return t
        return None

    def alert_counts(self) -> dict[str, int]:
        alerts = getattr(self.svc, "alerts", None)
        if alerts is None:
            return {"decided": 0, "sent": 0, "failed": 0, "sinks": 0}
        return {
            "decided": int(getattr(alerts, "alerts", 0)),
            "sent": int(getattr(alerts, "sent", 0)),
            "failed": int(getattr(alerts, "failed", 0)),
            "sinks": len(getattr(alerts, "sinks", ()) or ()),
        }

    def alert_step(self, before: dict[str, int]) -> None:
        now = self.alert_counts()
        decided, sent, failed = (now[k] - before[k] for k in ("decided", "sent", "failed"))
        if getattr(self.svc, "alerts", None) is None:
            self.step("alert", "no alerter in this build (ttsign.monitor.alerts): nothing decided or sent")
        elif not now["sinks"]:
            self.step("alert", f"{decided} alert(s) decided; no TTSIGN_ALERT_URLS configured, so none delivered")
        else:
            self.step(
                "alert", f"{decided} alert(s) decided: {sent} delivered, {failed} failed ({now['sinks']} sink(s))"
            )

    # -- the kinds ------------------------------------------------------------------------------
    async def cycle(self, checks: list[tuple[str, Any]]) -> float:
        from ttsign.monitor.cycle import run_cycle

        started = self.now()
        result = await run_cycle(self.svc, checks=checks, timeout_s=30.0)
        outcomes = ", ".join(f"{c.name} {c.outcome}" for c in result.checks)
        text = f"monitor cycle: {outcomes} ({result.duration_s * 1000:.1f} ms)"
        self.timeline.steps.append(Step(round(started, 3), "cycle", text))
        return float(result.duration_s)

    async def scenario(self) -> None:
        checks, change, revert, what, fixed = self.plan()
        cycle_s = await self.cycle(checks)
        self.step("caller", await self.call())
        alerts0 = self.alert_counts()
        mark = len(self.seen)
        t_change = self.step("change", what)
        change()
        if self.kind == "provider-down":
            await self.outage_traffic()
        else:
            await self.cycle(checks)
        await self.settle()
        self.show(mark)
        self.alert_step(alerts0)
        self.step("caller", await self.call())
        t_event = self.first(mark, lambda e: e.kind == DETECTED[self.kind])
        t_mitigated = self.first(mark, lambda e: e.kind == "mitigation" and e.detail.get("applied", True))
        alerts1 = self.alert_counts()
        mark = len(self.seen)
        t_revert = self.step("revert", fixed)
        revert()
        if self.kind == "provider-down":
            await self.until_recovered()
        else:
            await self.cycle(checks)
        await self.settle()
        self.show(mark)
        self.alert_step(alerts1)
        self.step("caller", await self.call())
        t_recovered = self.first(mark, lambda e: e.kind == "recovery" and not e.key.startswith("mitigation:"))
        self.timeline.figures = {
            "cycle_s": round(cycle_s, 4),
            "detected_s": None if t_event is None else round(t_event - t_change, 4),
            "mitigated_s": None if t_mitigated is None else round(t_mitigated - t_change, 4),
            "recovered_s": None if t_recovered is None else round(t_recovered - t_revert, 4),
        }
        self.timeline.alerts = self.alert_counts()
        mitigation = getattr(self.svc, "mitigation", None)
        undone = mitigation is None or (not mitigation.demoted and not mitigation.maintenance_on)
        self.timeline.ok = t_event is not None and t_recovered is not None and undone
        self.timeline.steps.sort(key=lambda step: step.t)  # stable: same-time steps keep their order

    def plan(self) -> tuple[list[tuple[str, Any]], Callable[[], None], Callable[[], None], str, str]:
        from ttsign.monitor import agreement

        if self.kind == "drift":
            ours = self.svc.signer.options.gnarly_version
            theirs = "5.1.3" if ours != "5.1.3" else "5.3.2"
            return (
                [("agreement", agreement.check)],
                lambda: self.oracle.change(gnarly_version=theirs),
                self.oracle.revert,
                f"TikTok's SDK now signs with another X-Gnarly layout ({theirs}; native signs {ours})",
                "native and the SDK agree again (native updated, or TikTok reverted)",
            )
        if self.kind == "new-build":
            return (
                [("sdk_build", self._sdk_check())],
                self.page.change,
                self.page.revert,
                f"the live page now loads {SDK_NEW[0]} ({SDK_NEW[1]} / {SDK_NEW[2]}; pinned: {SDK_OLD[0]})",
                f"the page loads the pinned {SDK_OLD[0]} again (or the baseline is re-pinned)",
            )
        if self.kind == "socket-refusal":
            return (
                [("live_probe", self._socket_check())],
                lambda: setattr(self, "refusing", True),
                lambda: setattr(self, "refusing", False),
                "the push socket refuses the configured signing mode (none) and accepts x-gnarly",
                "the socket accepts the configured mode again (or TTSIGN_WS_SIGNER is updated)",
            )
        return (
            [("agreement", agreement.check)],
            lambda: self._providers_fault("answers nothing"),
            lambda: self._providers_fault(None),
            "every signing provider fails (native and the browser answer nothing)",
            "the providers answer again",
        )

    # -- new-build: the real SDK build watch over an in-process page ------------------------------
    def prepare_page(self) -> None:
        from ttsign.tiktok.http import Upstream

        self.page = PageTransport()
        self.upstream = Upstream(timeout_s=5.0, transport=self.page)
        self.pinned: Any = None

    async def pin(self) -> None:
        from ttsign.monitor.baseline import Baseline, sdk_section
        from ttsign.monitor.pages import read_page

        read = await read_page(self.upstream, self.settings.tiktok_www, others=False)
        self.pinned = Baseline(sdk=sdk_section(read))

    def _sdk_check(self) -> Any:
        try:
            from ttsign.monitor import sdk_watch
        except ImportError:
            missing = "new-build needs ttsign.monitor.sdk_watch (the SDK build watch), not in this build"
            raise SimulationError(missing) from None

        run = self

        class Ctx:
            settings = run.settings
            upstream = run.upstream
            monitor = run.svc.monitor

        async def check(_services: Any) -> CheckResult:
            return await sdk_watch.check(Ctx(), baseline=run.pinned)

        return check

    # -- socket-refusal: injected at the check level ----------------------------------------------
    def _socket_check(self) -> Any:
        self.refusing = False
        run = self

        async def check(_services: Any) -> CheckResult:
            if not run.refusing:
                return CheckResult("live_probe", "ok", {"modes": {"none": "accepted"}, "injected": True})
            event = Event(
                "ws_mode_change",
                "live_probe:ws_mode",
                "medium",
                "the push socket refused signing mode none (handshake-msg) and accepted x-gnarly",
                {"configured": "none", "working": "x-gnarly", "refused": {"none": "handshake_msg"}, "injected": True},
                fingerprint="x-gnarly",
            )
            evidence = {"modes": {"none": "handshake_msg", "x-gnarly": "accepted"}, "injected": True}
            return CheckResult("live_probe", "drift", evidence, events=[event])

        return check

    # -- provider-down ----------------------------------------------------------------------------
    def _providers_fault(self, fault: str | None) -> None:
        self.native.fault = fault
        self.oracle.fault = fault

    async def outage_traffic(self) -> None:
        """Callers keep calling (10 a second) until the outage is reported, or 10 s."""
        deadline = time.monotonic() + 10.0
        calls = 0
        got = ""
        while time.monotonic() < deadline:
            got = await self.call()
            calls += 1
            if any(e.kind == "provider_outage" for _, e in self.seen):
                break
            await asyncio.sleep(0.1)
        self.step("caller", f"{calls} caller call(s) while the providers fail; the last: {got}")

    async def until_recovered(self) -> None:
        """Wait (bounded) for the outage probe's signed call to end the outage."""
        deadline = time.monotonic() + 15.0
        mark = len(self.seen)
        while time.monotonic() < deadline:
            if any(e.kind == "recovery" and e.key == "providers:all" for _, e in self.seen[mark:]):
                break
            await asyncio.sleep(0.05)
        else:
            self.step("note", "no recovery within 15 s")

    async def run(self) -> Timeline:
        if self.kind not in KINDS:
            raise SimulationError(f"unknown kind {self.kind[:40]!r}: use one of {', '.join(KINDS)}")
        self.build()
        self.step("note", f"app built: providers {', '.join(self.svc.providers.order())} (browser: a stand-in)")
        async with self.app.router.lifespan_context(self.app):
            self.t0 = time.monotonic()  # times from here: the app is up
            self.timeline.steps[0].t = 0.0
            mitigation = getattr(self.svc, "mitigation", None)
            if mitigation is not None:
                mitigation.probe.interval_s = 0.2
            if self.kind == "new-build":
                self.prepare_page()
                await self.pin()
            await self.scenario()
        return self.timeline


async def run(kind: str, settings: Any, *, echo: Callable[[str], None] | None = print) -> Timeline:
    """Run the simulation of `kind` (one of `KINDS`) with `settings`; print the timeline with `echo`."""
    timeline = await _Run(kind, settings).run()
    if echo is not None:
        for line in timeline.lines():
            echo(line)
    return timeline
