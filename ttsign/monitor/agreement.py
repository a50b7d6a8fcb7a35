"""Check 1, agreement: a fixed set of URLs signed natively and by TikTok's SDK (the browser provider), the two
layouts compared field by field (`ttsign.monitor.fields`). Any difference is a `drift`.

The URLs (`CASES`) are what the page signs every day: an `/api/*` item list, `user/detail`, a webcast call
the hook signs (`room/enter`, a POST on the webcast allowlist) and the LIVE room page's own call
(`/api/live/detail/`). Each is signed first by the browser provider (a forced call through the chain:
its answer is verified, its outcome recorded on its breaker), then by our native `Signer` with the
browser's User-Agent and msToken, so what depends on the UA compares like with like.

Outcomes: `ok` (every URL agrees), `drift` (one event, key `agreement`, naming each URL's differing fields;
its fingerprint changes when the set of differences does), `fail` (the browser could not sign: the
evidence says why; no event, the breaker reports the provider), `skipped` (no browser provider in
`TTSIGN_PROVIDERS`). The evidence holds each URL's differences and both signers' times.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from ttsign.monitor import fields
from ttsign.monitor.model import CheckResult, Event
from ttsign.providers.base import SignJob
from ttsign.providers.chain import AllProvidersFailed
from ttsign.signing.policy import parse_url

NAME = "agreement"
ORACLE = "browser"
DEVICE_ID = "7368712345678901234"
ROOM_ID = "7300000000000000000"
_WEB = f"aid=1988&app_name=tiktok_web&device_platform=web_pc&device_id={DEVICE_ID}"


@dataclass(frozen=True)
class Case:
    name: str
    url: str
    method: str = "GET"
    body: bytes = b""


CASES: tuple[Case, ...] = (
    Case("item_list", f"https://www.tiktok.com/api/post/item_list/?{_WEB}&secUid=MS4wLjABAAAA&count=35&cursor=0"),
    Case("user_detail", f"https://www.tiktok.com/api/user/detail/?{_WEB}&uniqueId=tiktok&secUid="),
    Case(
        "webcast",
        f"https://webcast.tiktok.com/webcast/room/enter/?aid=1988&app_name=tiktok_web&room_id={ROOM_ID}",
        "POST",
        f"room_id={ROOM_ID}&identity=audience".encode(),
    ),
    Case("room", f"https://www.tiktok.com/api/live/detail/?{_WEB}&roomID={ROOM_ID}"),
)


def _oracle(services: Any) -> bool:
    chain = getattr(services, "providers", None)
    return chain is not None and ORACLE in getattr(chain, "by_name", {})


def fingerprint(diffs: dict[str, dict[str, Any]]) -> str:
    """What makes a drift a new one: the differing fields and values, per URL."""
    text = json.dumps(diffs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def compare_case(services: Any, case: Case) -> dict[str, Any]:
    """One URL through both signers: `{"case", "path", "diff": {field: [native, browser]}, "native_ms",
    "browser_ms"}`. Raises `AllProvidersFailed` when the browser could not sign."""
    parsed = parse_url(case.url)
    job = SignJob(url=case.url, parsed=parsed, method=case.method, body=case.body, provider=ORACLE)
    t0 = time.perf_counter()
    answer = await services.providers.sign(job)
    browser_ms = (time.perf_counter() - t0) * 1000
    theirs = answer.result.request
    t1 = time.perf_counter()
    ours = services.signer.sign(parsed, case.method, case.body, theirs.user_agent, theirs.tokens.get("msToken"))
    native_ms = (time.perf_counter() - t1) * 1000
    diff = fields.compare(fields.layout_of(ours.url), fields.layout_of(theirs.url))
    return {
        "case": case.name,
        "path": parsed.path,
        "diff": {k: [a, b] for k, (a, b) in diff.items()},
        "native_ms": round(native_ms, 3),
        "browser_ms": round(browser_ms, 3),
    }


async def check(services: Any, cases: tuple[Case, ...] = CASES) -> CheckResult:
    """The agreement check (module docstring)."""
    if not _oracle(services):
        return CheckResult(NAME, "skipped", {"reason": "no browser provider in TTSIGN_PROVIDERS (the SDK oracle)"})
    rows: list[dict[str, Any]] = []
    for case in cases:
        try:
            rows.append(await compare_case(services, case))
        except AllProvidersFailed as exc:
            why = "; ".join(f"{kind}: {message}" for _name, kind, message in exc.failures)
            return CheckResult(
                NAME, "fail", {"error": f"the browser provider could not sign {case.name}: {why}"[:500], "urls": rows}
            )
    drifted = {row["case"]: row["diff"] for row in rows if row["diff"]}
    evidence: dict[str, Any] = {"urls": rows, "agreed": len(rows) - len(drifted), "compared": len(rows)}
    if not drifted:
        return CheckResult(NAME, "ok", evidence)
    names = sorted({name for diff in drifted.values() for name in diff})
    event = Event(
        kind="drift",
        key=NAME,
        severity="critical",
        title=f"native and TikTok's SDK disagree on {len(drifted)} of {len(rows)} URLs: {', '.join(names)[:300]}",
        detail={
            "fields": names,
            "urls": {
                case: {"path": row["path"], "diff": row["diff"]} for row in rows if (case := row["case"]) in drifted
            },
            "lines": {case: fields.describe(diff, "native", "browser") for case, diff in drifted.items()},
        },
        fingerprint=fingerprint(drifted),
    )
    evidence["fields"] = names
    return CheckResult(NAME, "drift", evidence, events=[event])
