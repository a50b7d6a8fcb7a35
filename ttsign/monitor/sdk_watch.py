"""Check 2, the SDK build watch: read the SDK script(s) TikTok's live page loads, hash them, read their version
strings and the paths they sign, and compare with the pinned baseline.

    async def check(ctx, baseline=None) -> CheckResult

* `ctx`: anything with `.settings` (a `ttsign.config.Settings`: `TTSIGN_TIKTOK_WWW` is the page's base) and
  `.upstream` (the server's `TikTokClient`, or an `Upstream` itself): the server's `Services` fits. The page
  and its scripts go through that upstream client (`TTSIGN_PROXY`, its timeout, caps and redirect policy).
* `baseline`: a `ttsign.monitor.baseline.Baseline` or its dict form; None (the cycle's call, `check(services)`):
  the file `TTSIGN_MONITOR_BASELINE` names (`baseline.pinned`: read again only when it changes; unset: skipped;
  unreadable: fail).

When `ctx.monitor` is a `MonitorState`, its `sdk_seen` and `sdk_pinned` are set (the status page's "SDK build
seen vs pinned").

Outcomes: `ok` (the same build: every script hash and the signed path list as pinned), `drift` with one
`sdk_build` event (severity high; key `sdk_build`; fingerprint: the new script hash, or a hash of the hashes
when the page loads several; detail: old -> new versions and hashes and what differs), `fail` (the page could
not be read, or it loaded no SDK script: evidence says which), `skipped` (no baseline, or the baseline has no
SDK section: nothing is fetched). Otherwise the evidence holds `seen` (versions, sha256, url of each script)
for the status page.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from ttsign.monitor.analyze import compare_sdk, versions_of
from ttsign.monitor.baseline import Baseline, BaselineError, coerce, sdk_section
from ttsign.monitor.baseline import pinned as pinned_baseline
from ttsign.monitor.model import CheckResult, Event
from ttsign.monitor.pages import PageError, http_of, read_page

NAME = "sdk_build"


def build_fingerprint(sdk: dict[str, Any]) -> str:
    """The new build's identity: its one script's sha256, or a sha256 of the sorted hashes of several."""
    hashes = sorted(str(s.get("sha256", "")) for s in sdk.get("scripts") or ())
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256(",".join(hashes).encode()).hexdigest()


def seen_of(sdk: dict[str, Any]) -> dict[str, Any]:
    """What the status page shows as the SDK build seen (or pinned)."""
    scripts = sdk.get("scripts") or []
    return {
        "version": ", ".join(versions_of(sdk)),
        "sha256": build_fingerprint(sdk) if scripts else "",
        "url": ", ".join(str(s.get("url", "")) for s in scripts),
        "scripts": [{k: s.get(k) for k in ("url", "sha256", "versions")} for s in scripts],
        "signed_paths": list(sdk.get("signed_paths") or ()),
    }


async def check(ctx: Any, baseline: Baseline | dict[str, Any] | None = None) -> CheckResult:
    """Compare the SDK build the live page loads now with `baseline`'s (see the module docstring)."""
    started = time.perf_counter()
    result = CheckResult(NAME, "ok")
    try:
        pinned = coerce(baseline) if baseline is not None else pinned_baseline(ctx.settings)
        if pinned is None or not pinned.sdk.get("scripts"):
            result.outcome = "skipped"
            result.evidence = {"reason": "no pinned SDK build: write one with ttsign analyze baseline --out FILE"}
            result.duration_s = time.perf_counter() - started
            return result
        read = await read_page(http_of(ctx), ctx.settings.tiktok_www, others=False)
    except (PageError, BaselineError) as exc:
        result.outcome, result.evidence = "fail", {"error": str(exc)}
        result.duration_s = time.perf_counter() - started
        return result
    now = sdk_section(read)
    result.evidence = {"page": read.url, "seen": seen_of(now)}
    if now["skipped"]:
        result.evidence["skipped"] = now["skipped"]
    if not now["scripts"]:
        result.outcome = "fail"
        result.evidence["error"] = "the live page loaded no SDK script (a bot wall, or a script name not known)"
    else:
        result.evidence["pinned"] = seen_of(pinned.sdk)
        differs = compare_sdk(pinned.sdk, now)
        if differs:
            result.outcome = "drift"
            result.evidence["differs"] = differs
            old_v, new_v = versions_of(pinned.sdk), versions_of(now)
            title = (
                f"TikTok's SDK build changed: {', '.join(old_v) or '?'} -> {', '.join(new_v) or '?'}"
                if old_v != new_v
                else f"TikTok's SDK build changed ({'new hash' if 'sha256' in differs else 'signed paths'}, "
                f"same version strings {', '.join(new_v) or '(none)'})"
            )
            result.events.append(
                Event(
                    kind="sdk_build",
                    key=NAME,
                    severity="high",
                    title=title,
                    detail={
                        "old": seen_of(pinned.sdk),
                        "new": seen_of(now),
                        "differs": differs,
                        "next": "ttsign monitor --once (agreement), then ttsign analyze diff",
                    },
                    fingerprint=build_fingerprint(now),
                )
            )
    _remember(ctx, result.evidence)
    result.duration_s = time.perf_counter() - started
    return result


def _remember(ctx: Any, evidence: dict[str, Any]) -> None:
    from ttsign.monitor.state import MonitorState

    state = getattr(ctx, "monitor", None)
    if isinstance(state, MonitorState):
        if evidence.get("seen"):
            state.sdk_seen = dict(evidence["seen"])
        if evidence.get("pinned"):
            state.sdk_pinned = dict(evidence["pinned"])
