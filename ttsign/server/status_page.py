"""The status page's HTML, from a snapshot dict (`ttsign.server.status_snapshot.build`). Pure: no I/O, no clock.

One self-contained page: inline CSS (light and dark from `prefers-color-scheme`), no script, no external
asset, a `<meta http-equiv="refresh">` so it reloads itself. Every text that comes from the snapshot goes
through `html.escape` (a drift's evidence, an error message, a provider's name: none of it is markup). Each
section is a `<section id=... data-state=...>` so tests and scrapers find it. The monitor's cycles are an
inline SVG bar chart: one bar per cycle, oldest left, its height the cycle's duration, its colour its outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from html import escape
from typing import Any

CHART_W, CHART_H, MIN_SLOTS = 480, 64, 24
"""The chart's viewBox; bars are at most CHART_W / MIN_SLOTS wide (a few cycles do not make fat bars)."""
MAX_DETAIL_ROWS = 24
MAX_VALUE_CHARS = 300
RECENT_CYCLES = 6
OUTCOMES = ("ok", "drift", "fail", "skipped")
NO_LOOP = "no monitor loop in this process (TTSIGN_MONITOR_INTERVAL unset, or another instance holds the lease)"

CSS = """:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1d1f23;--mute:#5f6368;--card:#fff;--line:#dde1e6;
--ok:#1a7f37;--drift:#cf222e;--fail:#bc4c00;--skipped:#8c959f;--warn:#9a6700}
@media(prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mute:#9da5ae;--card:#161b22;--line:#30363d;
--ok:#2ea043;--drift:#f85149;--fail:#db6d28;--skipped:#6e7681;--warn:#d29922}}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:64rem;padding:.6rem;background:var(--bg);
color:var(--fg)}
header{display:flex;flex-wrap:wrap;gap:.3rem .8rem;align-items:baseline}
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1rem;margin:0 0 .4rem}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,24rem),1fr));gap:.6rem}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.6rem .75rem;min-width:0}
section.wide{grid-column:1/-1}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.15rem .35rem;border-top:1px solid var(--line);vertical-align:top;
overflow-wrap:anywhere}
th{font-weight:600;overflow-wrap:normal}th.k{overflow-wrap:anywhere;min-width:5.5rem}.nw{white-space:nowrap}
code{font:13px/1.35 ui-monospace,monospace;overflow-wrap:anywhere}
ul{margin:.2rem 0;padding-left:1.1rem}p{margin:.3rem 0}
.m{color:var(--mute)}
.b{display:inline-block;padding:0 .45rem;border-radius:1rem;font-size:.82rem;color:#fff;background:var(--skipped);
white-space:nowrap}
.b.ok,.b.closed,.b.off{background:var(--ok)}.b.drift,.b.down,.b.open,.b.on{background:var(--drift)}
.b.fail,.b.degraded,.b.half_open,.b.high{background:var(--fail)}.b.critical{background:var(--drift)}
.b.medium{background:var(--warn)}
.banner{border-left:5px solid var(--drift);background:var(--card);padding:.5rem .75rem;margin:.5rem 0;
border-radius:4px}
.banner.degraded{border-color:var(--fail)}
svg{display:block;width:100%;height:4.5rem;background:var(--bg);border-radius:4px}
rect.ok{fill:var(--ok)}rect.drift{fill:var(--drift)}rect.fail{fill:var(--fail)}rect.skipped{fill:var(--skipped)}
.legend span{margin-right:.7rem}.dot{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;
vertical-align:-.05rem;margin-right:.2rem}
.dot.ok{background:var(--ok)}.dot.drift{background:var(--drift)}.dot.fail{background:var(--fail)}
.dot.skipped{background:var(--skipped)}"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{refresh}">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><h1>ttsign status</h1><span class="b {overall}" id="overall" data-state="{overall}">{overall}</span>
<span class="m">{version} · up {uptime} · {generated} · refreshes every {refresh} s</span></header>
{banner}<main>
{sections}
</main>
</body>
</html>
"""


# ---- small pieces ---------------------------------------------------------------------------------------


def e(value: Any) -> str:
    """Escaped text (quotes too: safe inside attributes)."""
    return escape("" if value is None else str(value), quote=True)


def duration(seconds: Any) -> str:
    """`42 s`, `7 min`, `3 h 5 min`, `2 d 4 h` (None or a non-number: an em dash)."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds != seconds:
        return "—"
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def clock(at: Any, now: float) -> str:
    """`14:03:07 UTC (5 min ago)`; a time over a day away also gets its date."""
    if not isinstance(at, int | float) or isinstance(at, bool) or not at:
        return "—"
    fmt = "%H:%M:%S" if abs(now - at) < 86400 else "%Y-%m-%d %H:%M"
    try:
        shown = time.strftime(fmt, time.gmtime(at))
    except (OverflowError, OSError, ValueError):
        return "—"
    rel = f"{duration(now - at)} ago" if now >= at else f"in {duration(at - now)}"
    return f"{shown} UTC ({rel})"


def when(at: Any, now: float) -> str:
    """`clock` as HTML whose time and age each stay on one line (a narrow column wraps between them)."""
    text = clock(at, now)
    shown, _, rel = text.partition(" (")
    return f'<span class="nw">{e(shown)}</span>' + (f' <span class="m nw">({e(rel)}</span>' if rel else "")


def badge(state: Any) -> str:
    word = str(state or "unknown")
    return f'<span class="b {e(word)}">{e(word.replace("_", "-"))}</span>'


def short(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A value as one line of compact JSON (a string as itself), cut at `limit` characters."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(head: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """Cells are HTML already (escape what goes in)."""
    top = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{top}</tr>{body}</table>"


def kv(pairs: Iterable[tuple[str, str]]) -> str:
    """Two-column rows: the label is escaped here, the value is HTML already."""
    return "<table>" + "".join(f'<tr><th class="k">{e(k)}</th><td>{v}</td></tr>' for k, v in pairs) + "</table>"


def section(sid: str, title: str, state: str, body: str, *, wide: bool = False) -> str:
    cls = ' class="wide"' if wide else ""
    return f'<section id="{sid}" data-state="{e(state)}"{cls}><h2>{e(title)}</h2>{body}</section>'


def failed(part: Any) -> str | None:
    """A part the snapshot could not gather: `{"error": "..."}`."""
    if isinstance(part, dict) and "error" in part and len(part) == 1:
        return f'<p class="m">could not read: {e(part["error"])}</p>'
    return None


# ---- sections ---------------------------------------------------------------------------------------------


def providers_section(part: Any, now: float) -> str:
    err = failed(part)
    if err is not None:
        return section("providers", "Providers", "unknown", err)
    rows: list[list[str]] = []
    worst = "ok"
    for p in part or []:
        status = str(p.get("status", "unknown"))
        worst = "down" if status == "down" else ("degraded" if status == "degraded" and worst == "ok" else worst)
        breaker = badge(p.get("breaker", "closed"))
        probe = p.get("next_probe_in_s")
        if isinstance(probe, int | float):
            breaker += f' <span class="m">probe in {duration(probe)}</span>'
        last = p.get("last_error")
        if isinstance(last, dict):
            shown = f"<code>{e(last.get('kind', ''))}</code> {e(short(last.get('message', ''), 160))}"
            shown += f' <span class="m">{e(clock(last.get("at"), now))}</span>'
        else:
            shown = e(short(last, 160)) if last else '<span class="m">none</span>'
        extra = f'<br><span class="m">{e(short(p["detail"], 160))}</span>' if p.get("detail") else ""
        rows.append(
            [
                f'<span data-provider="{e(p.get("name", "?"))}">{e(p.get("name", "?"))}</span>{extra}',
                f"{badge(status)} {breaker}",
                f"{e(p.get('calls', 0))} / {e(p.get('failed', 0))}",
                shown,
            ]
        )
    body = table(["provider", "status, breaker", "calls / failed", "last error"], rows) if rows else "<p>none</p>"
    return section("providers", "Providers", worst, body)


def chart(cycles: list[dict[str, Any]]) -> str:
    """The cycles (oldest first) as bars; each bar's `<title>` says when, the outcome and how long."""
    slots = max(len(cycles), MIN_SLOTS)
    width = CHART_W / slots
    longest = max((float(c.get("duration_s") or 0) for c in cycles), default=0.0) or 1.0
    offset = slots - len(cycles)  # the newest cycle is always at the right edge
    bars = []
    for i, c in enumerate(cycles):
        outcome = c.get("outcome") if c.get("outcome") in OUTCOMES else "skipped"
        h = max(4.0, CHART_H * min(1.0, float(c.get("duration_s") or 0) / longest))
        x = (offset + i) * width
        tip = f"{c.get('when', '')}: {outcome}, {c.get('duration_s', 0)} s"
        bars.append(
            f'<rect x="{x:.1f}" y="{CHART_H - h:.1f}" width="{max(1.0, width - 1):.1f}" height="{h:.1f}" '
            f'class="{outcome}"><title>{e(tip)}</title></rect>'
        )
    label = f"{len(cycles)} monitor cycles, oldest left"
    return (
        f'<svg viewBox="0 0 {CHART_W} {CHART_H}" preserveAspectRatio="none" role="img" aria-label="{e(label)}">'
        + "".join(bars)
        + "</svg>"
    )


def monitor_section(part: Any, now: float) -> str:
    err = failed(part)
    if err is not None:
        return section("monitor", "Monitor", "unknown", err, wide=True)
    if not part or not part.get("configured"):
        body = '<p class="m">no monitor in this process (set TTSIGN_MONITOR_INTERVAL, or run ttsign monitor)</p>'
        return section("monitor", "Monitor", "off", body, wide=True)
    cycles = [dict(c, when=clock(c.get("started"), now)) for c in part.get("cycles", [])]
    counts = {o: sum(1 for c in cycles if c.get("outcome") == o) for o in OUTCOMES}
    last = cycles[-1] if cycles else None
    state = str(last.get("outcome")) if last else "none"
    head = (
        f"<p>last cycle: {badge(state)} {e(last['when'])}, {e(last.get('duration_s'))} s"
        f' · <span class="m">{"loop running" if part.get("running") else "no loop in this process"}</span></p>'
        if last
        else f'<p class="m">no cycle yet: {NO_LOOP if not part.get("running") else "the loop is running"}</p>'
    )
    legend = "".join(f'<span><i class="dot {o}"></i>{o} {counts[o]}</span>' for o in OUTCOMES)
    body = head + (chart(cycles) + f'<p class="legend m">{legend}</p>' if cycles else "")
    recent = list(reversed(cycles[-RECENT_CYCLES:]))
    if recent:
        rows = [
            [
                f"{badge(c.get('outcome'))} {when(c.get('started'), now)}",
                " ".join(
                    f'<span class="nw">{e(k.get("name", "?"))} {badge(k.get("outcome"))}</span>'
                    for k in c.get("checks", [])
                ),
            ]
            for c in recent
        ]
        body += table(["recent cycles", "checks"], rows)
    active = part.get("active") or []
    if active:
        items = "".join(
            f"<li>{badge(a.get('severity'))} <code>{e(a.get('key'))}</code> {e(a.get('title'))}"
            f' <span class="m">since {e(clock(a.get("at"), now))}</span></li>'
            for a in active
        )
        body += f'<p>conditions open now:</p><ul id="active">{items}</ul>'
    return section("monitor", "Monitor", state, body, wide=True)


def detail_rows(detail: Any) -> list[tuple[str, str]]:
    if not isinstance(detail, dict):
        return [("detail", f"<code>{e(short(detail))}</code>")] if detail else []
    items = sorted(detail.items(), key=lambda kv_: str(kv_[0]))
    rows = [(str(k), f"<code>{e(short(v))}</code>") for k, v in items[:MAX_DETAIL_ROWS]]
    if len(items) > MAX_DETAIL_ROWS:
        rows.append(("…", f"{len(items) - MAX_DETAIL_ROWS} more (see ttsign analyze diff)"))
    return rows


def drift_section(part: Any, now: float) -> str:
    err = failed(part)
    if err is not None:
        return section("drift", "Last drift", "unknown", err)
    if not part:
        return section("drift", "Last drift", "none", '<p class="m">no drift seen</p>')
    state = "active" if part.get("active") else "cleared"
    head = (
        f"<p>{badge(part.get('severity'))} <b>{e(part.get('title'))}</b></p>"
        f'<p class="m">{e(clock(part.get("at"), now))} · <code>{e(part.get("key"))}</code> · '
        f"{'still open' if state == 'active' else 'cleared since'}</p>"
    )
    rows = detail_rows(part.get("detail"))
    return section("drift", "Last drift", state, head + (kv(rows) if rows else ""))


SDK_FIELDS = ("version", "sha256", "url")


def sdk_section(part: Any) -> str:
    err = failed(part)
    if err is not None:
        return section("sdk", "SDK build", "unknown", err)
    seen, pinned = dict((part or {}).get("seen") or {}), dict((part or {}).get("pinned") or {})
    if not seen and not pinned:
        return section("sdk", "SDK build", "unknown", '<p class="m">not watched yet (no monitor cycle)</p>')
    fields = [f for f in SDK_FIELDS if f in seen or f in pinned]
    fields += sorted((set(seen) | set(pinned)) - set(SDK_FIELDS))
    rows, differ = [], False
    for f in fields:
        differs = f in seen and f in pinned and seen[f] != pinned[f]
        differ |= differs
        mark = ' <span class="b drift">differs</span>' if differs else ""
        rows.append(
            f'<tr><th class="k">{e(f)}{mark}</th><td><code>{e(short(seen.get(f, "—")))}</code></td>'
            f"<td><code>{e(short(pinned.get(f, '—')))}</code></td></tr>"
        )
    state = "unknown" if not seen or not pinned else ("drift" if differ else "ok")
    body = "<table><tr><th></th><th>seen</th><th>pinned</th></tr>" + "".join(rows) + "</table>"
    return section("sdk", "SDK build", state, body)


def pool_section(part: Any, now: float) -> str:
    err = failed(part)
    if err is not None:
        return section("pool", "Identity pool", "unknown", err)
    if not part or part.get("status") == "not_configured":
        return section("pool", "Identity pool", "off", '<p class="m">live connect not configured</p>')
    held, most = part.get("identities", 0), part.get("max_identities", 0)
    per_hour = part.get("connects_per_hour", 0)
    pairs = [
        ("identities", f"{e(held)} of {e(most)}" + (" (one being fetched)" if part.get("fetch_in_flight") else "")),
        ("connects left this hour", f"{e(part.get('connects_left', 0))} ({e(per_hour)} per identity)"),
        ("identity lifetime", e(duration(part.get("ttl_s")))),
    ]
    if part.get("store"):
        pairs.append(("store", e(part["store"])))
    body = kv(pairs)
    items = part.get("items") or []
    if items:
        rows = [
            [str(i + 1), e(duration(it.get("age_s"))), e(duration(it.get("expires_in_s"))), e(it.get("connects_left"))]
            for i, it in enumerate(items)
        ]
        body += table(["#", "age", "expires in", "connects left"], rows)
    return section("pool", "Identity pool", str(part.get("status", "ok")), body)


def rate_section(part: Any) -> str:
    err = failed(part)
    if err is not None:
        return section("rate", "Rate limits", "unknown", err)
    part = part or {}
    windows = part.get("windows") or []
    rows = [
        [e(w.get("label", "").replace("rate_limit_", "per ")), f"{e(w.get('used'))} of {e(w.get('limit'))}"]
        for w in windows
    ]
    body = f"<p>you: <code>{e(part.get('caller', '?'))}</code></p>"
    body += table(["window", "used"], rows) if rows else '<p class="m">no limit applies to you</p>'
    body += (
        f'<p class="m">this process answered {e(part.get("requests", 0))} requests; '
        f"{e(part.get('limited', 0))} were refused by a rate limit</p>"
    )
    full = any(w.get("limit") and w.get("used", 0) >= w.get("limit", 0) for w in windows)
    return section("rate", "Rate limits", "degraded" if full else "ok", body)


def maintenance_section(part: Any, now: float) -> str:
    err = failed(part)
    if err is not None:
        return section("maintenance", "Maintenance", "unknown", err)
    if part is None:
        return section("maintenance", "Maintenance", "unknown", '<p class="m">not available in this build</p>')
    if not part.get("enabled"):
        return section("maintenance", "Maintenance", "off", f"<p>{badge('off')} signing and connect answer</p>")
    pairs = [("message", e(part.get("message"))), ("since", e(clock(part.get("since"), now)))]
    if part.get("by"):
        pairs.append(("by", e(part["by"])))
    if part.get("reason"):
        pairs.append(("reason", e(part["reason"])))
    body = f"<p>{badge('on')} signing and connect routes answer 503</p>" + kv(pairs)
    return section("maintenance", "Maintenance", "on", body)


def alerts_section(part: Any) -> str:
    err = failed(part)
    if err is not None:
        return section("alerts", "Alerts", "unknown", err)
    if part is None:
        return section("alerts", "Alerts", "off", '<p class="m">no alert sinks (TTSIGN_ALERT_URLS)</p>')
    if not isinstance(part, dict):
        return section("alerts", "Alerts", "ok", f"<p><code>{e(short(part))}</code></p>")
    rows = [(str(k), f"<code>{e(short(v, 200))}</code>") for k, v in sorted(part.items(), key=lambda i: str(i[0]))]
    sinks = part.get("sinks", None)
    if sinks in ([], 0):
        note = '<p class="m">no alert sinks (TTSIGN_ALERT_URLS): events are only logged and shown here</p>'
        return section("alerts", "Alerts", "off", note + kv(rows[:MAX_DETAIL_ROWS]))
    return section("alerts", "Alerts", "ok", kv(rows[:MAX_DETAIL_ROWS]))


def about_section(snap: dict[str, Any], now: float) -> str:
    pairs = [
        ("version", e(snap.get("version"))),
        ("up", f"{e(duration(snap.get('uptime_s')))} (since {e(clock(snap.get('started_at'), now))})"),
        ("page", f"made at {e(clock(now, now))}"),
    ]
    return section("about", "Server", "ok", kv(pairs))


# ---- the page -----------------------------------------------------------------------------------------------


def banner(reasons: list[str], overall: str) -> str:
    if not reasons:
        return ""
    items = "".join(f"<li>{e(r)}</li>" for r in reasons)
    return f'<div class="banner {e(overall)}" id="reasons"><ul>{items}</ul></div>\n'


def render(snap: dict[str, Any]) -> str:
    """The whole page for one snapshot."""
    now = float(snap.get("now") or 0.0)
    overall = str(snap.get("overall", "ok"))
    sections = [
        maintenance_section(snap.get("maintenance"), now),
        providers_section(snap.get("providers"), now),
        monitor_section(snap.get("monitor"), now),
        drift_section(snap.get("last_drift"), now),
        sdk_section(snap.get("sdk")),
        pool_section(snap.get("pool"), now),
        rate_section(snap.get("rate")),
        alerts_section(snap.get("alerts")),
        about_section(snap, now),
    ]
    refresh = int(snap.get("refresh_s") or 15)
    return PAGE.format(
        refresh=refresh,
        title=e(f"ttsign {overall}"),
        css=CSS,
        overall=e(overall),
        version=e(snap.get("version")),
        uptime=e(duration(snap.get("uptime_s"))),
        generated=e(clock(now, now).split(" (")[0]),
        banner=banner([str(r) for r in snap.get("reasons") or []], overall),
        sections="\n".join(sections),
    )
