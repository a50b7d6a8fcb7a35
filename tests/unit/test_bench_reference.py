"""benchmarks/bench_reference.py compares like with like: the Node reference gets the very inputs ours
encodes (above all the key, which sets the ChaCha rounds), and a ratio needs identical tokens."""

from __future__ import annotations

import json
import shutil

import pytest

from benchmarks import bench_reference as bench
from ttsign.algorithms import gnarly

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

# Stands in for tiktok-signature's xgnarly.mjs: answers the options it was given instead of a token.
ECHO_ENCODER = """
export function encode(query, body, ua, counters, opts) {
  return JSON.stringify({ query, body, ua, counters, ts: opts.timestampMs,
    low16: Buffer.from(opts.randomLow16).toString("hex"), r32: Buffer.from(opts.random32).toString("hex"),
    key: Buffer.from(opts.randomKey).toString("hex") });
}
"""


def test_reference_gets_the_inputs_ours_encodes(tmp_path, monkeypatch):
    pkg = tmp_path / "node_modules" / "tiktok-signature"
    pkg.mkdir(parents=True)
    (pkg / "package.json").write_text('{"name": "tiktok-signature", "version": "0.0.0"}\n')
    (pkg / "xgnarly.mjs").write_text(ECHO_ENCODER)
    monkeypatch.setattr(bench, "CACHE", tmp_path)
    seen = [json.loads(str(r["token"])) for r in bench.run_reference(bench.KEYS, iterations=0)]
    assert [bytes.fromhex(s["key"]) for s in seen] == list(bench.KEYS)
    for s in seen:
        assert (s["query"], s["body"], s["ua"], s["counters"]) == (bench.QUERY, "", bench.UA, {})
        assert (s["ts"], int(s["low16"], 16), int(s["r32"], 16)) == (
            bench.TIMESTAMP_MS,
            bench.RANDOM_LOW16,
            bench.RANDOM32,
        )


def test_keys_span_the_round_counts():
    assert sorted(gnarly.rounds_for(k) for k in bench.KEYS) == [5, 9, 13, 17]


@pytest.mark.skipif(not bench.reference_installed(), reason="run `make bench` once to install the reference")
def test_ours_and_the_reference_make_the_same_tokens():
    sides = bench.compare(timed=False)
    assert [s.rounds for s in sides] == [5, 9, 13, 17]
    assert all(s.same_output for s in sides), [(s.ours, s.theirs) for s in sides if not s.same_output]
