"""Every reference vector through both paths: the compiled functions give the bytes the pure-Python reference
gives, and both give the vector's expected token (issue 13: "both paths produce identical bytes").

The vector files are read from both places they live (`tests/vectors/` and the package data
`ttsign/vectors/data/`); a kind the compiled module does not implement (x-tt-params, the frontierSign stub)
is still run through the vector checker with the compiled path active, where it must pass too.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.accel import paths
from ttsign.algorithms import gnarly, signature, xbogus
from ttsign.algorithms.payloads import dynosaur532, gnarly513, gnarly532
from ttsign.signing import accel
from ttsign.signing.policy import PolicyError, Product, parse_url
from ttsign.signing.signer import Signer, SignerOptions
from ttsign.vectors import check_file, load_vectors
from ttsign.vectors.gnarly_kinds import _get, _key, _opt
from ttsign.vectors.xbogus_kinds import _OPAQUE, _timestamp, _xbogus_body

ROOT = Path(__file__).resolve().parents[2]
PLACES = (ROOT / "tests" / "vectors", ROOT / "ttsign" / "vectors" / "data")


def _files() -> list[Path]:
    seen: dict[Path, Path] = {}
    for place in PLACES:
        for path in sorted(place.glob("*.json")):
            seen.setdefault(path.resolve(), path)
    return list(seen.values())


FILES = _files()


def test_the_vector_files_are_found() -> None:
    names = {p.name for p in FILES}
    assert {"dynosaur.json", "gnarly532.json", "xbogus.json", "xgnarly.json", "urls.json"} <= names, names


def _dynosaur(fast: ModuleType, v: dict[str, Any]) -> None:
    inputs = _get(v, "inputs", dict, "vector")
    hashes = {n: _get(inputs, n, int) for n in ("query_hash", "ua_hash", "body_hash") if n in inputs}
    query = "" if "query_hash" in hashes else _get(inputs, "business_query", str)
    ua = "" if "ua_hash" in hashes else _get(inputs, "user_agent", str)
    body = "" if "body_hash" in hashes else _opt(inputs, "body_hash_input", str, "")
    kw: dict[str, Any] = {
        "timestamp": inputs["timestamp"],
        "nonce": inputs["nonce"],
        "counter_25": inputs["counter_25"],
        "counter_2f": inputs["counter_2f"],
        "body": body,
        **hashes,
    }
    for name in ("env_code", "ub_code", "page", "canvas_hash", "webgl_hash", "component_version", "device_hash"):
        if name in inputs:
            kw[name] = inputs[name]
    for name in ("vm_state_hash", "sdk_version", "scm_version"):
        if name in inputs:
            kw[name] = inputs[name]
    ref, got = paths.dynosaur(fast, query, ua, key=_key(inputs), **kw)
    assert got == ref == v["expected"]["x_dynosaur"]


def _gnarly532(fast: ModuleType, v: dict[str, Any]) -> None:
    inputs = _get(v, "inputs", dict, "vector")
    kw: dict[str, Any] = {k: inputs[k] for k in ("timestamp", "nonce", "nonce2", "sequence")}
    for name in ("env_code", "ub_code", "sdk_version", "scm_version", "record_order"):
        if name in inputs:
            kw[name] = inputs[name]
    body = bytes.fromhex(_opt(inputs, "body_hex", str, ""))
    ref, got = paths.gnarly_532(fast, inputs["sealed_query"], body, inputs["user_agent"], key=_key(inputs), **kw)
    assert got == ref == v["expected"]["x_gnarly"]


def _gnarly513(fast: ModuleType, v: dict[str, Any]) -> None:
    options = v["options"]
    total, intercepted = gnarly513.counters_from_mapping(v.get("counters") or {})
    kw: dict[str, Any] = {
        "timestamp_ms": options["timestampMs"],
        "random_low16": int(options["randomLow16"], 16),
        "random32": int(options["random32"], 16),
        "total_requests": total,
        "intercepted_requests": intercepted,
        "ub_code": v.get("ubcode", 4),
        "sdk_version": v.get("sdkVersion", gnarly513.SDK_VERSION),
    }
    key = bytes.fromhex(options["randomKey"])
    ref, got = paths.gnarly_513(fast, v["queryString"], v["body"], v["userAgent"], key=key, **kw)
    assert got == ref == v["expected"]


def _xbogus(fast: ModuleType, v: dict[str, Any]) -> None:
    want = xbogus.decode(v["expected_x_bogus"])
    if "ms_token" in v and isinstance(v.get("url"), str) and "sent_url_before_signatures" in v:
        ref_hook = xbogus.hook_signed_query(v["url"], v["ms_token"])
        assert tuple(fast.hook_signed_query(v["url"], v["ms_token"])) == ref_hook
        query = ref_hook[1]
    else:
        query = v["query"]
    body = _xbogus_body(v)
    if body is _OPAQUE:  # a body the SDK cannot read (field 13 c2): only encode_fields makes it, not compiled
        return
    header = bytes.fromhex(v["env_bytes_hex"]) if isinstance(v.get("env_bytes_hex"), str) else want.header
    canvas = v["canvas"] if "canvas" in v else want.canvas
    ref, got = paths.x_bogus(fast, query, body, v["user_agent"], _timestamp(v), header, canvas)
    assert got == ref == v["expected_x_bogus"]


def _signature(fast: ModuleType, v: dict[str, Any]) -> None:
    ts, page = _timestamp(v), v["page_url"]
    want = signature.decode_legacy_signature(v["expected_signature"], ts, page)
    kw = {
        "canvas": v.get("canvas", want.canvas),
        "env_mask": v.get("env_flags", want.env_mask),
        "tt_webid": v.get("tt_webid") or "",
        "uuid": v.get("uuid") or "",
    }
    ref, got = paths.legacy(fast, v["url"], v["user_agent"], ts, page, **kw)
    assert got == ref == v["expected_signature"]
    assert fast.signature_query(v["url"], kw["tt_webid"], kw["uuid"]) == signature.signature_query(
        v["url"], kw["tt_webid"], kw["uuid"]
    )


def _parsed_both(url: str) -> tuple[Any, Any]:
    out = []
    for module in (None, accel.load()):
        accel._process = module
        try:
            out.append(parse_url(url))
        except PolicyError as exc:
            out.append(f"PolicyError: {exc}")
    return out[0], out[1]


def _url(fast: ModuleType, v: dict[str, Any]) -> None:
    pure, compiled = _parsed_both(v["url"])
    assert compiled == pure, v["url"]
    rule = v.get("ttsign")
    if v["kind"] == "sdk-hook-url" and isinstance(rule, dict) and rule.get("accept"):
        ts = v["frozen_date_now_ms"] // 1000
        signed = []
        for mode in ("off", "on"):
            accel._process = accel.select(mode)
            s = Signer(SignerOptions(accel=mode), clock=lambda: float(ts), rng=random.Random(0))
            signed.append(s.sign(v["url"], ms_token=v["ms_token"], product=Product.CLASSIC))
        assert signed[0] == signed[1]


CHECKS = {
    "x-dynosaur-5.3.2": _dynosaur,
    "x-gnarly-5.3.2": _gnarly532,
    "x-gnarly-5.1.3": _gnarly513,
    "x-bogus": _xbogus,
    "_signature": _signature,
    "sdk-hook-url": _url,
    "url-parse": _url,
}


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_vector_gives_the_same_bytes_on_both_paths(path: Path, compiled: ModuleType, process_path: None) -> None:
    compared: Counter[str] = Counter()
    for vector in load_vectors(path):
        check = CHECKS.get(str(vector.get("kind")))
        if check is None:
            continue
        try:
            check(compiled, vector)
        except AssertionError as exc:
            raise AssertionError(f"{path.name} {vector.get('id')}: {exc}") from None
        compared[str(vector["kind"])] += 1
    if path.name != "xttparams.json":  # x-tt-params has no compiled form (it is not part of the suffix)
        assert compared, f"no vector of {path.name} went through the compiled path"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_vector_file_passes_its_checker_with_the_compiled_path_active(
    path: Path, compiled: ModuleType, process_path: None
) -> None:
    accel._process = compiled
    report = check_file(path)
    assert report.ok, [o for o in report.outcomes if o.status == "failed"][:3]


def test_the_envelope_of_a_vector_opens_the_same_on_both_paths(compiled: ModuleType) -> None:
    """A compiled token is an ordinary token: the reference opens it to the payload it sealed."""
    key = bytes(range(48))
    token = compiled.gnarly_532("a=1", b"", "UA", 1, 2, 3, 4, 65, 8, key, None, "5.3.2", "2.0.0.561")
    opened = gnarly.unseal(token)
    assert opened.key == key
    assert gnarly532.parse_payload(opened.payload).sequence == 4
    d = compiled.dynosaur_532(
        "a=1", "UA", b"", 1, 2, 3, 3, 65, 8, "www.tiktok.com/", "-1", "0", "0", "0", key, None, None, None,
        dynosaur532.VM_STATE_HASH, "5.3.2", "2.0.0.561",
    )  # fmt: skip
    assert dynosaur532.decode(d).query_hash == dynosaur532.hash_state("a=1")
