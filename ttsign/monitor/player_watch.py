"""Check 3, the player watch: the facts the push socket depends on, read from TikTok's live page and its
(non-SDK) scripts (`ttsign.monitor.facts.socket_facts`: socket hosts and paths, the player's query keys, which
of them are signatures, whether it asks the SDK for a socket signer, the cookie names the page sets), against
the pinned baseline.

    async def check(ctx, baseline=None) -> CheckResult

`ctx` and `baseline` as for `ttsign.monitor.sdk_watch.check` (`.settings` and `.upstream`; a `Baseline` or its
dict form, or None for the file `TTSIGN_MONITOR_BASELINE` names).

Outcomes: `ok` (every fact as pinned), `drift` with one `player_change` event (severity medium; key
`player`; fingerprint: the new facts' digest; detail: each changed fact was -> now), `fail` (the page could
not be read), `skipped` (no baseline or no socket section in it: nothing is fetched).
"""

from __future__ import annotations

import time
from typing import Any

from ttsign.monitor.analyze import compare_socket
from ttsign.monitor.baseline import Baseline, BaselineError, coerce, socket_section
from ttsign.monitor.baseline import pinned as pinned_baseline
from ttsign.monitor.model import CheckResult, Event
from ttsign.monitor.pages import PageError, http_of, read_page

NAME = "player"


async def check(ctx: Any, baseline: Baseline | dict[str, Any] | None = None) -> CheckResult:
    """Compare the socket facts of the live page now with `baseline`'s (see the module docstring)."""
    started = time.perf_counter()
    result = CheckResult(NAME, "ok")
    try:
        pinned = coerce(baseline) if baseline is not None else pinned_baseline(ctx.settings)
        if pinned is None or not pinned.socket:
            result.outcome = "skipped"
            result.evidence = {"reason": "no pinned socket facts: write them with ttsign analyze baseline --out FILE"}
            result.duration_s = time.perf_counter() - started
            return result
        read = await read_page(http_of(ctx), ctx.settings.tiktok_www, sdk=False)
    except (PageError, BaselineError) as exc:
        result.outcome, result.evidence = "fail", {"error": str(exc)}
        result.duration_s = time.perf_counter() - started
        return result
    now = socket_section(read)
    result.evidence = {"page": read.url, "seen": now}
    changes = compare_socket(pinned.socket, now)
    if changes:
        result.outcome = "drift"
        result.evidence["changes"] = changes
        result.events.append(
            Event(
                kind="player_change",
                key=NAME,
                severity="medium",
                title=f"The live player's socket facts changed: {', '.join(changes)}",
                detail={
                    "changes": changes,
                    "old_digest": pinned.socket.get("digest", ""),
                    "new_digest": now["digest"],
                    "next": "ttsign check USER; TTSIGN_WS_SIGNER=auto if the socket wants a signature",
                },
                fingerprint=str(now["digest"]),
            )
        )
    result.duration_s = time.perf_counter() - started
    return result
