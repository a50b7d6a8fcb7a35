"""Side by side: our X-Gnarly 5.1.3 encoder vs the reference JS encoder under Node.

The reference is `xgnarly.mjs` from npm `tiktok-signature@4.3.6`, installed at bench time into
`benchmarks/.cache/node` (git-ignored, never committed; `--ignore-scripts` skips its browser download).
Both encode the same ~600-byte query with the same UA, warm, and the ratio is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_signer import API, UA
from ttsign.algorithms.payloads import gnarly513

CACHE = Path(__file__).parent / ".cache" / "node"
QUERY = API.split("?", 1)[1] + "&msToken="
KEY = bytes(range(48))
_ours: list[float] = []

NODE_BENCH = r"""
import { encode } from "tiktok-signature/xgnarly.mjs";
const [query, ua] = [process.argv[2], process.argv[3]];
const opts = { timestampMs: 1764000000000, randomLow16: Buffer.from("1234", "hex"),
               random32: Buffer.from("89abcdef", "hex"), randomKey: Buffer.alloc(48, 7) };
for (let i = 0; i < 20000; i++) encode(query, "", ua, {}, opts);          // warm up the JIT
const samples = [];
for (let r = 0; r < 7; r++) {
  const n = 20000, t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) encode(query, "", ua, {}, opts);
  samples.push(Number(process.hrtime.bigint() - t0) / n / 1000);
}
samples.sort((a, b) => a - b);
console.log(JSON.stringify({ median_us: samples[3] }));
"""


def _ensure_reference() -> bool:
    if (CACHE / "node_modules" / "tiktok-signature" / "xgnarly.mjs").exists():
        return True
    if shutil.which("npm") is None:
        return False
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "package.json").write_text('{"private": true}\n')
    cmd = ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "tiktok-signature@4.3.6"]
    return subprocess.run(cmd, cwd=CACHE, capture_output=True).returncode == 0


def _ours_513() -> str:
    return gnarly513.encode(
        QUERY, "", UA, timestamp_ms=1764000000000, random_low16=0x1234, random32=0x89ABCDEF, key=KEY
    )


CASES: list[tuple[str, Callable[[], object]]] = [("ours: X-Gnarly 5.1.3 encode (same input)", _ours_513)]


def report() -> None:
    from benchmarks.__main__ import measure

    if not _ensure_reference():
        print("  reference xgnarly.mjs: not installed (npm unavailable); ratio not measured")
        return
    script = CACHE / "bench_xgnarly.mjs"
    script.write_text(NODE_BENCH)
    out = subprocess.run(
        ["node", str(script), QUERY, UA], cwd=CACHE, capture_output=True, text=True, env=dict(os.environ)
    )
    if out.returncode != 0:
        print(f"  reference xgnarly.mjs failed: {out.stderr[-300:]}")
        return
    node_us = json.loads(out.stdout.strip().splitlines()[-1])["median_us"]
    ours_us = measure(_ours_513) * 1e6
    print(f"  {'reference: xgnarly.mjs under Node ' + out_version():<48} {node_us:10.1f} us/call")
    print(f"  ratio ours/reference (measured back to back)      {ours_us / node_us:10.2f}x")


def out_version() -> str:
    v = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return v or "?"
