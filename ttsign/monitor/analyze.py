"""The change analyzer: what differs between two baselines (the pinned one and now), by severity, each with its
evidence and the next step to take. Pure: two `Baseline`s in, a `Report` out.

Severities:

* **critical**: a token's layout or version changed (`ttsign.monitor.fields.compare` on a URL kind's decoded
  field table: field set, widths, version strings, env/ub codes, lengths, token order);
* **high**: the SDK build changed (another script hash, version strings, signed path list or endpoints);
* **medium**: a socket fact (host, path, query keys, signed keys, the socket signer, cookie names) or a
  fingerprint field (navigator, canvas/WebGL/device hashes, X-Bogus's environment header) changed;
* **info**: what could not be compared (a section missing on one side, and why); not a change.

`Report.render()` is the human report (`ttsign analyze diff`), `Report.to_dict()` the `--json` one.
`compare_sdk` and `compare_socket` are also what the SDK build watch and the player watch report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ttsign.monitor.baseline import Baseline
from ttsign.monitor.fields import Layout, compare, describe

__all__ = [
    "NEXT_STEPS",
    "Finding",
    "Report",
    "compare_fingerprint",
    "compare_sdk",
    "compare_socket",
    "compare_tokens",
    "diff",
    "versions_of",
]

Severity = Literal["critical", "high", "medium", "info"]
ORDER: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "info": 3}
SOCKET_FIELDS = ("hosts", "paths", "query_keys", "signed_keys", "ws_signer", "cookie_names")

NEXT_STEPS: dict[str, tuple[str, ...]] = {
    "tokens": (
        "Sign through TikTok's own SDK now: TTSIGN_PROVIDERS=browser,native (restart ttsign serve); with the "
        "monitor running, automatic mitigation demotes native by itself (TTSIGN_MONITOR_MITIGATE)",
        "If no provider signs correctly any more: ttsign maintenance on (callers get a 503 with its message "
        "instead of tokens TikTok refuses)",
        "Confirm the drift field by field: ttsign monitor --once (the agreement check), then check the native "
        "algorithms against the reference vectors: ttsign vectors check",
        "Once native matches the new layout again: ttsign analyze baseline --out FILE (re-pin)",
    ),
    "sdk": (
        "Check whether native still agrees with the new build: ttsign monitor --once (the agreement check "
        "signs the same URLs natively and through the browser provider)",
        "If it drifts: TTSIGN_PROVIDERS=browser,native until native is updated",
        "When the new build is understood: ttsign analyze baseline --out FILE (re-pin)",
    ),
    "socket": (
        "Check the live path end to end: ttsign check USER (a user who is LIVE now), or ttsign monitor --once "
        "with TTSIGN_MONITOR_LIVE_USER set (the live probes)",
        "If the socket now wants a signature: TTSIGN_WS_SIGNER=auto (probes none, X-Bogus, X-Gnarly and keeps "
        "what works); a new socket host or path: TTSIGN_WS_URL",
        "When confirmed: ttsign analyze baseline --out FILE (re-pin)",
    ),
    "fingerprint": (
        "The signer's identity changed (a new browser, UA or canvas): ttsign monitor --once, and check that "
        "TTSIGN_BROWSER_PRESET still matches a current browser",
        "When confirmed: ttsign analyze baseline --out FILE (re-pin)",
    ),
    "coverage": ("Fix what kept the section from being read (see the evidence), then run ttsign analyze diff again",),
}


@dataclass(frozen=True)
class Finding:
    severity: Severity
    area: str  # tokens | sdk | socket | fingerprint | coverage
    title: str
    evidence: dict[str, Any] = field(default_factory=dict)
    next_steps: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "area": self.area,
            "title": self.title,
            "evidence": self.evidence,
            "next_steps": list(self.next_steps),
        }


def _meta(b: Baseline) -> dict[str, Any]:
    return {"created": b.created, "created_iso": b.created_iso, "www": b.source.get("www", "")}


@dataclass
class Report:
    baseline: dict[str, Any]
    now: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)

    @property
    def changes(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "info"]

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in ORDER}

    def to_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "counts": self.counts(),
            "baseline": self.baseline,
            "now": self.now,
            "findings": [f.to_dict() for f in self.findings],
        }

    def render(self) -> str:
        """The human report: a heading, each finding by severity with its evidence and next steps, a summary."""
        lines = [
            f"ttsign analyze: now ({self.now.get('created_iso', '?')}) against the baseline of "
            f"{self.baseline.get('created_iso', '?')} ({self.baseline.get('www') or 'TikTok'})",
            "",
        ]
        if not self.changed:
            lines.append("No change: the SDK build, the token layouts, the socket facts and the fingerprint match.")
        for f in self.findings:
            lines.append(f"{f.severity.upper():<9} {f.title}")
            for key, value in f.evidence.items():
                if isinstance(value, list) and any(isinstance(v, str) and ": " in v for v in value):
                    lines.append(f"          {key}:")  # one line per described difference
                    lines += [f"            {v}" for v in value]
                else:
                    lines.append(f"          {key}: {_short(value)}")
            for n, step in enumerate(f.next_steps, 1):
                lines.append(f"          next {n}. {step}")
            lines.append("")
        c = self.counts()
        lines.append(
            f"Summary: {c['critical']} critical, {c['high']} high, {c['medium']} medium"
            + (f", {c['info']} not compared" if c["info"] else "")
            + (" -> act on the first finding above." if self.changed else ".")
        )
        return "\n".join(lines).rstrip() + "\n"


def _short(value: Any, limit: int = 300) -> str:
    if isinstance(value, (list, tuple)) and len(value) > 12:
        text = f"{len(value)} items"
    elif isinstance(value, (list, tuple)):
        text = ", ".join(_short(v, 80) for v in value) if value else "(none)"
    elif isinstance(value, dict):
        text = "; ".join(f"{k}={_short(v, 160)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _added_removed(old: list[Any], new: list[Any]) -> dict[str, list[Any]]:
    return {"added": [x for x in new if x not in old], "removed": [x for x in old if x not in new]}


def versions_of(sdk: Mapping[str, Any]) -> list[str]:
    """Every version string of an `sdk` section's scripts, each once, in order."""
    out: list[str] = []
    for s in sdk.get("scripts") or ():
        for v in s.get("versions") or ():
            if v not in out:
                out.append(v)
    return out


def _hashes(sdk: Mapping[str, Any]) -> list[str]:
    return sorted(str(s.get("sha256", "")) for s in sdk.get("scripts") or ())


def compare_sdk(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """What differs between two `sdk` sections (empty: the same build and signed paths). Keys: `sha256`
    (was/now), `versions` (was/now, with added/removed), `scripts` (names added/removed), `signed_paths` and
    `endpoints` (added/removed)."""
    out: dict[str, Any] = {}
    old_scripts, new_scripts = list(old.get("scripts") or ()), list(new.get("scripts") or ())
    if _hashes(old) != _hashes(new):
        out["sha256"] = {"was": _hashes(old), "now": _hashes(new)}
        names = _added_removed([s.get("name") for s in old_scripts], [s.get("name") for s in new_scripts])
        if names["added"] or names["removed"]:
            out["scripts"] = names
        sizes_was = sum(int(s.get("size", 0)) for s in old_scripts)
        sizes_now = sum(int(s.get("size", 0)) for s in new_scripts)
        if sizes_was != sizes_now:
            out["size"] = {"was": sizes_was, "now": sizes_now}
    vo, vn = versions_of(old), versions_of(new)
    if vo != vn:
        out["versions"] = {"was": vo, "now": vn, **_added_removed(vo, vn)}
    po, pn = list(old.get("signed_paths") or ()), list(new.get("signed_paths") or ())
    if po != pn:
        out["signed_paths"] = {"was": po, "now": pn, **_added_removed(po, pn)}
    eo = sorted({e for s in old_scripts for e in s.get("endpoints") or ()})
    en = sorted({e for s in new_scripts for e in s.get("endpoints") or ()})
    if eo != en:
        out["endpoints"] = _added_removed(eo, en)
    return out


def compare_socket(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Socket fact -> {"was", "now"} for each fact that differs (see `facts.SocketFacts`)."""
    out: dict[str, dict[str, Any]] = {}
    for key in SOCKET_FIELDS:
        was, now = old.get(key), new.get(key)
        if key == "ws_signer":
            was, now = bool(was), bool(now)
        else:
            was, now = list(was or ()), list(now or ())
        if was != now:
            out[key] = {"was": was, "now": now}
    return out


def compare_tokens(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[str]]:
    """URL kind -> the lines describing how its token layout differs (`fields.compare`)."""
    out: dict[str, list[str]] = {}
    lo, ln = old.get("layouts") or {}, new.get("layouts") or {}
    for kind in lo.keys() & ln.keys():
        d = compare(Layout.from_dict(lo[kind]), Layout.from_dict(ln[kind]))
        if d:
            out[kind] = describe(d, "baseline", "now")
    return dict(sorted(out.items()))


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def compare_fingerprint(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Fingerprint field (dotted, e.g. `navigator.user_agent`, `tokens.X-Gnarly.canvas_hash`) -> was/now."""
    fo: dict[str, Any] = {}
    fn: dict[str, Any] = {}
    _flat("", dict(old), fo)
    _flat("", dict(new), fn)
    return {k: {"was": fo.get(k), "now": fn.get(k)} for k in sorted(fo.keys() | fn.keys()) if fo.get(k) != fn.get(k)}


def _coverage(name: str, old: Baseline, new: Baseline) -> Finding | None:
    was, now = getattr(old, name), getattr(new, name)
    if was and now:
        return None
    why = {"baseline": old.errors.get(name) or ("" if was else "not in the baseline")}
    why["now"] = new.errors.get(name) or ("" if now else "not gathered now")
    evidence = {k: v for k, v in why.items() if v}
    if not evidence:
        return None
    return Finding("info", "coverage", f"{name}: not compared", evidence, NEXT_STEPS["coverage"])


def _sdk_title(d: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    vo, vn = versions_of(old), versions_of(new)
    if "sha256" in d:
        if vo != vn:
            return f"TikTok's SDK build changed: {', '.join(vo) or '?'} -> {', '.join(vn) or '?'}"
        return f"TikTok's SDK build changed: new script hash, same version strings ({', '.join(vn) or 'none'})"
    return "The signed path list changed (same SDK build)"


def diff(old: Baseline, new: Baseline) -> Report:
    """Every change from `old` (the pinned baseline) to `new` (now), most severe first."""
    findings: list[Finding] = []
    for name in ("tokens", "sdk", "socket", "fingerprint"):
        gap = _coverage(name, old, new)
        if gap is not None:
            findings.append(gap)
    if old.tokens and new.tokens:
        if old.tokens.get("source") != new.tokens.get("source"):
            findings.append(
                Finding(
                    "info",
                    "coverage",
                    "tokens: signed by another provider than the baseline's",
                    {"baseline": old.tokens.get("source"), "now": new.tokens.get("source")},
                )
            )
        changed = compare_tokens(old.tokens, new.tokens)
        if changed:
            keys = list(dict.fromkeys(line.split(":", 1)[0] for lines in changed.values() for line in lines))
            findings.append(
                Finding(
                    "critical",
                    "tokens",
                    f"Token layout or version changed: {', '.join(keys)} (on {', '.join(changed)})",
                    {**changed, "signed_by": new.tokens.get("source", "")},
                    NEXT_STEPS["tokens"],
                )
            )
    if old.sdk and new.sdk:
        d = compare_sdk(old.sdk, new.sdk)
        if d:
            findings.append(Finding("high", "sdk", _sdk_title(d, old.sdk, new.sdk), d, NEXT_STEPS["sdk"]))
    if old.socket and new.socket:
        evidence: dict[str, Any] = {}
        for key, change in compare_socket(old.socket, new.socket).items():
            evidence[key] = dict(change)
            if isinstance(change["was"], list):
                evidence[key].update(_added_removed(change["was"], change["now"]))
        if evidence:
            title = f"Socket facts changed: {', '.join(evidence)}"
            findings.append(Finding("medium", "socket", title, evidence, NEXT_STEPS["socket"]))
    if old.fingerprint and new.fingerprint:
        moved = compare_fingerprint(old.fingerprint, new.fingerprint)
        if moved:
            findings.append(
                Finding(
                    "medium",
                    "fingerprint",
                    f"Fingerprint changed: {', '.join(moved)}",
                    moved,
                    NEXT_STEPS["fingerprint"],
                )
            )
    findings.sort(key=lambda f: ORDER[f.severity])
    return Report(_meta(old), _meta(new), findings)
