"""What the status page shows, gathered from the app's services into one plain dict (`build`).

Each part is read on its own: a part that raises becomes `{"error": "<kind>: <message>"}` (the message
scrubbed of secrets, cut short) and the rest of the page still renders. Nothing here calls TikTok or the
store beyond what `/health` and `/webcast/rate_limits` already do (the caller's buckets, the maintenance
flag's own refresh): a page view costs about what those two cost.

The dict (every key always present):

* `version`, `now`, `started_at`, `uptime_s`, `refresh_s`
* `overall` (`ok`, `degraded`, `down`) and `reasons` (lines for the banner)
* `providers`: rows from `health.providers_component` over `ProviderChain.describe()`, plus `calls`,
  `failed` (a count), `next_probe_in_s`, `detail` (the browser's SDK version)
* `monitor`: None without a monitor, else `configured`, `running`, `cycles` (oldest first: `started`,
  `duration_s`, `outcome`, `checks` as `{name, outcome}`) and `active` (open conditions)
* `last_drift`: the `Event` as a dict plus `active` (its condition still open), or None
* `sdk`: `{"seen": ..., "pinned": ...}` from the monitor state
* `pool`: the identity pool's stats (counts, ages, connects left; never a cookie), or `not_configured`
* `rate`: the viewer's own windows (`used` of `limit`), requests answered and refused by a limit
* `maintenance`: `{enabled, message, since, by, reason}` or None (no maintenance flag in this build)
* `alerts`: `services.alerts.describe()` or None
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ttsign import __version__
from ttsign.server import logs, metrics
from ttsign.server.health import DEGRADED, DOWN, OK, providers_component

REFRESH_S = 15
"""How often the page reloads itself (seconds)."""
MAX_CYCLES = 96
"""At most this many cycles go on the chart (MonitorState keeps TTSIGN_MONITOR_HISTORY, 96 by default)."""


def _error(exc: BaseException) -> dict[str, str]:
    return {"error": f"{type(exc).__name__}: {logs.scrub(str(exc))[:200]}"}


def guarded(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception as exc:  # one broken part must not take the page down
        return _error(exc)


async def guarded_async(read: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await read()
    except Exception as exc:  # as guarded
        return _error(exc)


def providers(svc: Any, signer_ok: bool = True) -> list[dict[str, Any]]:
    rows = svc.providers.describe()
    _, entries, _ = providers_component(rows, signer_ok)
    out = []
    for row, entry in zip(rows, entries, strict=True):
        breaker = row.get("breaker") if isinstance(row.get("breaker"), dict) else {}
        failures = row.get("failures")
        failed = sum(failures.values()) if isinstance(failures, dict) else int(breaker.get("failures") or 0)
        sdk = row.get("sdk")
        detail = ""
        if isinstance(sdk, list) and sdk and isinstance(sdk[0], dict):
            detail = "SDK " + ", ".join(str(s.get("version") or s.get("sha256", "")[:12]) for s in sdk)
        elif isinstance(row.get("host"), str):
            detail = row["host"]
        if row.get("state") and row.get("state") not in ("ready", "running", "ok"):
            detail = f"{row['state']}{': ' + detail if detail else ''}"
        out.append(
            {
                "name": entry["name"],
                "status": entry["status"],
                "breaker": entry["breaker"],
                "calls": row.get("calls", 0),
                "failed": failed,
                "last_error": row.get("last_error"),
                "next_probe_in_s": breaker.get("next_probe_in_s"),
                "detail": detail,
            }
        )
    return out


def _state(monitor: Any) -> Any:
    """The `MonitorState` (services.monitor is one, or holds one as `.state`)."""
    if monitor is None or hasattr(monitor, "cycles"):
        return monitor
    return getattr(monitor, "state", None)


def monitor_part(svc: Any) -> dict[str, Any] | None:
    state = _state(svc.monitor)
    if state is None:
        return None
    cycles = list(state.cycles)[-MAX_CYCLES:]
    return {
        "configured": True,
        "running": bool(getattr(state, "running", False)),
        "cycles": [
            {
                "started": c.started,
                "duration_s": round(float(c.duration_s), 3),
                "outcome": c.outcome,
                "checks": [{"name": k.name, "outcome": k.outcome} for k in c.checks],
            }
            for c in cycles
        ],
        "active": [
            {"key": ev.key, "kind": ev.kind, "severity": ev.severity, "title": ev.title, "at": ev.at}
            for ev in sorted(dict(state.active).values(), key=lambda ev: ev.at)
        ],
    }


def drift_part(svc: Any) -> dict[str, Any] | None:
    state = _state(svc.monitor)
    event = getattr(state, "last_drift", None) if state is not None else None
    if event is None:
        return None
    out = dict(event.to_dict())
    out["active"] = event.key in dict(getattr(state, "active", {}) or {})
    return out


def sdk_part(svc: Any) -> dict[str, Any]:
    state = _state(svc.monitor)
    if state is None:
        return {"seen": {}, "pinned": {}}
    return {"seen": dict(state.sdk_seen or {}), "pinned": dict(state.sdk_pinned or {})}


def pool_part(svc: Any) -> dict[str, Any]:
    pool = getattr(svc.upstream, "pool", None)
    if pool is None or not hasattr(pool, "stats"):
        return {"status": "not_configured"}
    stats = dict(pool.stats())
    full = stats.get("identities", 0) >= stats.get("max_identities", 0) and stats.get("connects_left", 0) == 0
    return {"status": DEGRADED if full and stats.get("identities") else OK, **stats}


def _served() -> tuple[int, int]:
    """(requests answered, requests refused by a rate limit) in this process, from its metrics."""
    total = limited = 0
    for family in metrics.REQUESTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                total += int(sample.value)
                limited += int(sample.value) if sample.labels.get("status") == "429" else 0
    return total, limited


async def rate_part(svc: Any, caller: str) -> dict[str, Any]:
    windows = [
        {"label": st.label, "limit": st.limit, "used": st.limit - st.state.remaining, "window_s": st.window_s}
        for st in await svc.limiter.status_async(caller)
    ]
    requests, limited = _served()
    return {"caller": caller, "windows": windows, "requests": requests, "limited": limited}


async def maintenance_part(svc: Any) -> dict[str, Any] | None:
    flag = svc.maintenance
    if flag is None:
        return None
    state = await flag.get()
    if state is None:
        return {"enabled": False}
    return {
        "enabled": bool(getattr(state, "enabled", False)),
        "message": getattr(state, "message", ""),
        "since": getattr(state, "since", None),
        "by": getattr(state, "by", ""),
        "reason": getattr(state, "reason", ""),
    }


def alerts_part(svc: Any) -> Any:
    alerts = svc.alerts
    if alerts is None or not hasattr(alerts, "describe"):
        return None
    return alerts.describe()


def overall(snap: dict[str, Any]) -> tuple[str, list[str]]:
    """The page's headline: `down` when no provider can sign or maintenance is on, `degraded` on a drift, a
    failed cycle, a provider down or probing; with the reasons."""
    reasons: list[str] = []
    worst = OK
    maint = snap["maintenance"]
    if isinstance(maint, dict) and maint.get("enabled"):
        reasons.append(f"maintenance on: {maint.get('message', '')}")
        worst = DOWN
    rows = snap["providers"] if isinstance(snap["providers"], list) else []
    down = [r["name"] for r in rows if r.get("status") == DOWN]
    if rows and len(down) == len(rows):
        reasons.append("every signing provider is down")
        worst = DOWN
    else:
        for r in rows:
            if r.get("status") != OK:
                reasons.append(f"provider {r['name']}: {r['status']} (breaker {r['breaker']})")
                worst = DEGRADED if worst == OK else worst
    mon = snap["monitor"]
    cycles = mon.get("cycles") if isinstance(mon, dict) else None
    if cycles and cycles[-1]["outcome"] in ("drift", "fail"):
        bad = [c["name"] for c in cycles[-1]["checks"] if c["outcome"] in ("drift", "fail")]
        reasons.append(f"last monitor cycle: {cycles[-1]['outcome']} ({', '.join(bad)})")
        worst = DEGRADED if worst == OK else worst
    return worst, reasons


async def build(svc: Any, *, caller: str, now: float | None = None, signer_ok: bool = True) -> dict[str, Any]:
    """The snapshot of `svc` (ttsign.server.deps.Services) as `caller` sees it."""
    now = time.time() if now is None else now
    snap: dict[str, Any] = {
        "version": __version__,
        "now": now,
        "started_at": svc.started_at,
        "uptime_s": round(now - svc.started_at, 1),
        "refresh_s": REFRESH_S,
        "providers": guarded(lambda: providers(svc, signer_ok)),
        "monitor": guarded(lambda: monitor_part(svc)),
        "last_drift": guarded(lambda: drift_part(svc)),
        "sdk": guarded(lambda: sdk_part(svc)),
        "pool": guarded(lambda: pool_part(svc)),
        "rate": await guarded_async(lambda: rate_part(svc, caller)),
        "maintenance": await guarded_async(lambda: maintenance_part(svc)),
        "alerts": guarded(lambda: alerts_part(svc)),
    }
    snap["overall"], snap["reasons"] = overall(snap)
    return snap
