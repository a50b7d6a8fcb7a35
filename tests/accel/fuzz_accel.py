"""The fuzz target of the compiled module: random and malformed arguments to every function it exports.

Run it alone for as long as you like (`.venv/bin/python -m tests.accel.fuzz_accel --seconds 60 --seed 1`);
`test_fuzz.py` runs it for a few seconds in `make test`. A call may return or raise ValueError / TypeError
(UnicodeEncodeError is a ValueError); anything else, a panic (`pyo3_runtime.PanicException`, a BaseException)
included, is a finding. Where the compiled function returns, the pure-Python reference given the same
arguments must return the same value (the compiled path may refuse more, never answer differently).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ttsign.algorithms import signature, xbogus
from ttsign.algorithms.payloads import dynosaur532, gnarly513, gnarly532
from ttsign.signing import policy

_INTS = [0, 1, 2, 7, 65, 255, 0xFFFF, 0x10000, 0xFFFFFFFF, 1 << 32, (1 << 53) + 1, 1 << 64, -1, -(1 << 70)]


class Gen:
    """Argument values, mostly plausible, sometimes hostile (wrong type, out of range, huge, surrogates)."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def text(self, n: int = 40) -> str:
        r = self.r
        pool = "abcXYZ019 %&=?#/'\"<>\\日\x00\x7f\u00e9\U0001f600"
        s = "".join(r.choice(pool) for _ in range(r.randrange(n)))
        if r.random() < 0.2:
            s += r.choice(["%", "%4", "%zz", "%E4", "%C0%80", "%E6%97%A5", "%25", "%2e", "msToken=", "&&"])
        if r.random() < 0.03:
            s += "\ud800"  # a lone surrogate: no UTF-8 form
        return s

    def data(self) -> Any:
        r = self.r
        k = r.random()
        if k < 0.45:
            return self.text()
        if k < 0.9:
            return r.randbytes(r.randrange(300))
        return r.choice([None, 5, [1, 2], bytearray(b"x"), 1.5])

    def uint(self, bits: int) -> Any:
        r = self.r
        if r.random() < 0.85:
            return r.randrange(1 << bits)
        return r.choice([*_INTS, True, None, "1", 2.0])

    def key(self) -> Any:
        r = self.r
        return r.randbytes(48) if r.random() < 0.9 else r.choice([b"", r.randbytes(47), "k" * 48, None])

    def ascii(self) -> Any:
        r = self.r
        if r.random() < 0.9:
            return "".join(r.choice("abc019-/.") for _ in range(r.randrange(20)))
        return r.choice(["x" * 254, "日本", b"\xff", None, 7])

    def order(self, keys: tuple[int, ...], noise: bool = False) -> Any:
        r = self.r
        k = r.random()
        if k < 0.15:
            return None
        if k < 0.75:
            out = list(keys)
            r.shuffle(out)
            return out
        if noise and k < 0.9:
            return r.randbytes(64)
        return r.choice([[0] * 16, list(range(17)), "abc", r.randbytes(63), [7] * 16, list(range(1, 17))])


@dataclass
class Stats:
    calls: int = 0
    returned: int = 0
    refused: int = 0
    compared: int = 0
    findings: list[str] = field(default_factory=list)


def _cases(fast: ModuleType, g: Gen) -> list[tuple[str, Callable[[], list[Any]], Callable[..., Any] | None]]:
    """(function name, argument generator, reference taking the same positional arguments or None)."""

    def ref_dyn(
        q: Any, ua: Any, body: Any, ts: Any, nonce: Any, c25: Any, c2f: Any, env: Any, ub: Any, *rest: Any
    ) -> Any:
        page, canvas, webgl, comp, dev, key, qh, uh, bh, vm, sdk, scm = rest
        return dynosaur532.encode(
            q, ua, timestamp=ts, nonce=nonce, counter_25=c25, counter_2f=c2f, env_code=env, ub_code=ub, page=page,
            canvas_hash=canvas, webgl_hash=webgl, component_version=comp, device_hash=dev, body=body, key=key,
            query_hash=qh, ua_hash=uh, body_hash=bh, vm_state_hash=vm, sdk_version=sdk, scm_version=scm,
        )  # fmt: skip

    def ref_g532(s: Any, b: Any, ua: Any, ts: Any, n: Any, n2: Any, seq: Any, env: Any, ub: Any, *rest: Any) -> Any:
        key, order, sdk, scm = rest
        return gnarly532.encode(
            s, b, ua, timestamp=ts, nonce=n, nonce2=n2, sequence=seq, env_code=env, ub_code=ub, key=key,
            record_order=order, sdk_version=sdk, scm_version=scm,
        )  # fmt: skip

    def ref_g513(q: Any, b: Any, ua: Any, ms: Any, low: Any, r32: Any, key: Any, *rest: Any) -> Any:
        total, inter, ub, env, sdk, ver, order = rest
        return gnarly513.encode(
            q, b, ua, timestamp_ms=ms, random_low16=low, random32=r32, key=key, total_requests=total,
            intercepted_requests=inter, ub_code=ub, env_code=env, sdk_version=sdk, payload_version=ver,
            record_order=order,
        )  # fmt: skip

    def ref_xb(q: Any, b: Any, ua: Any, ts: Any, header: Any, canvas: Any) -> Any:
        return xbogus.encode(q, b, ua, ts, xbogus.XBogusProfile(header, canvas))

    def ref_sig(url: Any, ua: Any, ts: Any, page: Any, canvas: Any, mask: Any, webid: Any, uuid: Any) -> Any:
        return signature.legacy_signature(url, ua, ts, page, canvas=canvas, env_mask=mask, tt_webid=webid, uuid=uuid)

    def ref_hook(url: Any, token: Any) -> Any:
        return xbogus.hook_signed_query(url, token)

    def ref_prepare(scheme: Any, path: Any, query: Any) -> Any:
        return policy._prepare_query(scheme, path, query)

    def hashes() -> list[Any]:
        return [g.uint(32) if g.r.random() < 0.3 else None for _ in range(3)]

    u = g.uint
    return [
        (
            "dynosaur_532",
            lambda: [
                g.data(),
                g.data(),
                g.data(),
                u(32),
                u(32),
                u(32),
                u(32),
                u(16),
                u(16),
                g.ascii(),
                g.ascii(),
                g.ascii(),
                g.ascii(),
                g.ascii(),
                g.key(),
                *hashes(),
                u(32),
                g.ascii(),
                g.ascii(),
            ],
            ref_dyn,
        ),
        (
            "gnarly_532",
            lambda: [
                g.data(),
                g.data(),
                g.data(),
                u(32),
                u(32),
                u(32),
                u(16),
                u(16),
                u(16),
                g.key(),
                g.order(gnarly532.KEYS),
                g.ascii(),
                g.ascii(),
            ],
            ref_g532,
        ),
        (
            "gnarly_513",
            lambda: [
                g.data(),
                g.data(),
                g.data(),
                u(50),
                u(16),
                u(32),
                g.key(),
                u(32),
                u(32),
                u(16),
                u(16),
                g.text(10),
                g.text(10),
                g.order(tuple(range(16))),
            ],
            ref_g513,
        ),
        (
            "xbogus",
            lambda: [g.data(), g.data(), g.text(), u(32), g.r.choice([g.r.randbytes(4), b"", "abcd"]), u(32)],
            ref_xb,
        ),
        (
            "legacy_signature",
            lambda: [g.text(), g.text(), u(32), g.text(), u(32), u(24), g.text(5), g.text(5)],
            ref_sig,
        ),
        ("hook_signed_query", lambda: ["https://h/p" + g.r.choice(["", "?"]) + g.text(), g.text(8)], ref_hook),
        (
            "prepare_query",
            lambda: [g.r.choice(["https", "http"]), "/" + g.text(10), g.r.choice([None, g.text()])],
            ref_prepare,
        ),
        ("hash_state", lambda: [g.data()], lambda d: dynosaur532.hash_state(d)),
        ("plain_url", lambda: [g.r.choice(["https://www.tiktok.com", "http://a.b:80", "https://x"]) + g.text()], None),
        (
            "sign_full_532",
            lambda: [
                g.text(),
                g.data(),
                g.text(),
                g.text(8),
                u(32),
                u(16),
                u(32),
                u(32),
                u(32),
                u(16),
                u(16),
                g.ascii(),
                g.ascii(),
                g.ascii(),
                g.ascii(),
                g.ascii(),
                g.key(),
                g.key(),
                g.order(gnarly532.KEYS, noise=True),
            ],
            None,
        ),
        (
            "sign_full_513",
            lambda: [
                g.data(),
                g.data(),
                g.text(),
                u(32),
                g.r.randbytes(4),
                u(32),
                u(50),
                u(32),
                u(32),
                u(16),
                u(32),
                g.key(),
                u(16),
                u(16),
                g.text(8),
            ],
            None,
        ),
    ]


def _same(got: Any, want: Any) -> bool:
    return (tuple(got) if isinstance(got, list) else got) == (tuple(want) if isinstance(want, list) else want)


def run(fast: ModuleType, *, seconds: float, seed: int, stats: Stats | None = None) -> Stats:
    """Fuzz for about `seconds`; returns the counts and every finding (empty: nothing wrong)."""
    stats = stats or Stats()
    g = Gen(random.Random(seed))
    cases = _cases(fast, g)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(stats.findings) < 20:
        name, make, ref = g.r.choice(cases)
        args = make()
        stats.calls += 1
        try:
            got = getattr(fast, name)(*args)
        except (ValueError, TypeError):
            stats.refused += 1
            continue
        except BaseException as exc:  # a panic surfaces as pyo3_runtime.PanicException (a BaseException)
            if isinstance(exc, KeyboardInterrupt):
                raise
            stats.findings.append(f"{name}{tuple(repr(a)[:60] for a in args)} raised {type(exc).__name__}: {exc}")
            continue
        stats.returned += 1
        if ref is None:
            continue
        try:
            want = ref(*args)
        except Exception as exc:  # the reference refusing what the compiled path answered is a finding
            stats.findings.append(f"{name}: compiled answered, the reference raised {type(exc).__name__}: {exc}")
            continue
        stats.compared += 1
        if not _same(got, want):
            stats.findings.append(f"{name}{tuple(repr(a)[:60] for a in args)}: compiled {got!r} != reference {want!r}")
    return stats


def main(argv: list[str]) -> int:
    import ttsign_accel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    a = parser.parse_args(argv)
    stats = run(ttsign_accel, seconds=a.seconds, seed=a.seed)
    print(f"seed {a.seed}: {stats.calls} calls, {stats.returned} answered ({stats.compared} compared with the "
          f"reference), {stats.refused} refused, {len(stats.findings)} findings")  # fmt: skip
    for f in stats.findings:
        print("  " + f)
    return 1 if stats.findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
