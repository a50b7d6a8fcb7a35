"""Side by side, fairly: our X-Gnarly 5.1.3 encoder vs the reference JS encoder under Node.

The reference is `xgnarly.mjs` from npm `tiktok-signature@4.3.6`, installed at bench time into
`benchmarks/.cache/node` (git-ignored, never committed; `--ignore-scripts` skips its browser download).

Fair means the same work: both sides encode the same ~600-byte query with the same UA, clock, random
fields and **the same 48-byte key** (the key sets the number of ChaCha rounds, 5 to 20, so two different
keys are two different workloads), and the tokens are compared before any time is reported: a ratio is
printed only for a key whose two tokens are byte-identical. Each key is timed warm, back to back.
Measured this way ttsign is *slower* than the JIT-compiled JS encoder, and more so as the rounds grow
(ours costs about 8 us more per 4 rounds, 31 us at 5; the reference's cost barely moves): on a quiet 2-CPU machine,
Node 20, 1.8-2.4x at 5 rounds, 2.8-3.0x at 9, 3.3-3.5x at 13 and 3.4-3.8x at 17. The earlier version
gave the two sides different keys (13 rounds for ours, 9 for the reference) and never checked the tokens.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_signer import API, UA
from ttsign.algorithms import gnarly
from ttsign.algorithms.payloads import gnarly513

CACHE = Path(__file__).parent / ".cache" / "node"
QUERY = API.split("?", 1)[1] + "&msToken="
TIMESTAMP_MS = 1764000000000
RANDOM_LOW16 = 0x1234
RANDOM32 = 0x89ABCDEF
KEYS: tuple[bytes, ...] = (bytes(48), bytes([7]) * 48, bytes(range(48)), bytes([1]) * 48)
"""The keys both sides encode with: 5, 9, 13 and 17 ChaCha rounds (`gnarly.rounds_for`). The old bench gave
the reference `bytes([7]) * 48` (9 rounds) and ours `bytes(range(48))` (13)."""

NODE_BENCH = r"""
import { encode } from "tiktok-signature/xgnarly.mjs";
const [query, ua, keysJson, tsArg, low16Hex, r32Hex, itersArg, clock] = process.argv.slice(2);
const cpu = clock === "cpu";  // CPU time (process.cpuUsage), else wall time
const iters = Number(itersArg);
const out = [];
for (const keyHex of JSON.parse(keysJson)) {
  const opts = { timestampMs: Number(tsArg), randomLow16: Buffer.from(low16Hex, "hex"),
                 random32: Buffer.from(r32Hex, "hex"), randomKey: Buffer.from(keyHex, "hex") };
  const token = encode(query, "", ua, {}, opts);
  for (let i = 0; i < iters; i++) encode(query, "", ua, {}, opts);          // warm up the JIT
  const samples = [];
  for (let r = 0; r < 7 && iters > 0; r++) {
    const t0 = cpu ? process.cpuUsage() : process.hrtime.bigint();
    for (let i = 0; i < iters; i++) encode(query, "", ua, {}, opts);
    const d = cpu ? process.cpuUsage(t0) : null;
    samples.push(cpu ? (d.user + d.system) / iters : Number(process.hrtime.bigint() - t0) / iters / 1000);
  }
  samples.sort((a, b) => a - b);
  out.push({ key: keyHex, token, median_us: samples.length ? samples[3] : null });
}
console.log(JSON.stringify(out));
"""


@dataclass(frozen=True)
class Side:
    """One key measured on both sides."""

    key: bytes
    rounds: int
    ours: str
    theirs: str
    ours_us: float | None = None
    theirs_us: float | None = None

    @property
    def same_output(self) -> bool:
        return self.ours == self.theirs


def ours(key: bytes) -> str:
    """Our token for the bench inputs and `key`."""
    return gnarly513.encode(
        QUERY, "", UA, timestamp_ms=TIMESTAMP_MS, random_low16=RANDOM_LOW16, random32=RANDOM32, key=key
    )


def reference_installed() -> bool:
    return shutil.which("node") is not None and (CACHE / "node_modules" / "tiktok-signature" / "xgnarly.mjs").exists()


def _ensure_reference() -> bool:
    if reference_installed():
        return True
    if shutil.which("npm") is None or shutil.which("node") is None:
        return False
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "package.json").write_text('{"private": true}\n')
    cmd = ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "tiktok-signature@4.3.6"]
    return subprocess.run(cmd, cwd=CACHE, capture_output=True).returncode == 0


def run_reference(
    keys: tuple[bytes, ...] = KEYS, iterations: int = 20000, *, cpu: bool = False
) -> list[dict[str, object]]:
    """The reference's token (and, with `iterations` > 0, its median us/call: wall time, or CPU time with `cpu`)
    for each key."""
    script = CACHE / "bench_xgnarly.mjs"
    script.write_text(NODE_BENCH)
    args = [QUERY, UA, json.dumps([k.hex() for k in keys]), str(TIMESTAMP_MS), f"{RANDOM_LOW16:04x}"]
    args += [f"{RANDOM32:08x}", str(iterations), "cpu" if cpu else "wall"]
    out = subprocess.run(
        ["node", str(script), *args], cwd=CACHE, capture_output=True, text=True, env=dict(os.environ), check=True
    )
    result: list[dict[str, object]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def compare(keys: tuple[bytes, ...] = KEYS, *, timed: bool = True) -> list[Side]:
    """Both sides over `keys`: tokens always, times when `timed` (ours only for keys whose tokens match)."""
    from benchmarks.__main__ import measure

    sides = []
    refs = [] if timed else run_reference(keys, 0)
    for i, key in enumerate(keys):
        ref = run_reference((key,), 20000)[0] if timed else refs[i]  # timed: each key's two sides back to back
        side = Side(key, gnarly.rounds_for(key), ours(key), str(ref["token"]))
        if timed and side.same_output:
            ours_us = measure(lambda key=key: ours(key)) * 1e6
            side = Side(side.key, side.rounds, side.ours, side.theirs, ours_us, float(str(ref["median_us"])))
        sides.append(side)
    return sides


CASES: list[tuple[str, Callable[[], object]]] = [
    (f"ours: X-Gnarly 5.1.3 encode ({gnarly.rounds_for(KEYS[0])} rounds)", lambda: ours(KEYS[0]))
]


def report() -> None:
    if not _ensure_reference():
        print("  reference xgnarly.mjs: not installed (node/npm unavailable); ratio not measured")
        return
    try:
        sides = compare()
    except (subprocess.CalledProcessError, ValueError) as exc:
        print(f"  reference xgnarly.mjs failed: {str(exc)[-300:]}")
        return
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() or "?"
    print(f"  same key and inputs on both sides; reference = xgnarly.mjs under Node {version}")
    for s in sides:
        if not s.same_output:
            print(f"  key {s.key[:4].hex()}... ({s.rounds} rounds): tokens DIFFER, no ratio: {s.ours} != {s.theirs}")
            continue
        assert s.ours_us is not None and s.theirs_us is not None
        print(
            f"  key {s.key[:4].hex()}... {s.rounds:2d} rounds, tokens identical: ours {s.ours_us:7.1f} us, "
            f"reference {s.theirs_us:7.1f} us, ours/reference {s.ours_us / s.theirs_us:5.2f}x"
        )
