"""Vector checkers for kinds ``x-gnarly-5.1.3``, ``x-gnarly-5.3.2`` and ``x-dynosaur-5.3.2``.

Formats: ``vectors/xgnarly.json`` (tokens.md 1.7: ``queryString``, ``body``, ``userAgent``, ``counters``,
``options{timestampMs, randomLow16, random32, randomKey}``, ``ubcode``, ``sdkVersion``, ``expected``)
and ``vectors/gnarly532.json`` / ``vectors/dynosaur.json`` (gnarly-532.md section 4: ``inputs``,
``expected.x_gnarly`` / ``expected.x_dynosaur``). Inputs are always read from the vector's own fields,
never looked up by id, so that vectors captured later in the same format are checked the same way.

Each checker: rebuilds the token from the inputs and compares it byte for byte; decodes the expected
token and compares the decoded fields with the inputs; runs the verifier (section 3.2; without the
freshness check, the vectors being historical); and checks that ``query_pairs``, when present,
serialise to ``business_query`` (section 0.1). ``derived`` is informational and not consulted.
"""

from __future__ import annotations

from typing import Any

from ttsign.algorithms import gnarly
from ttsign.algorithms.payloads import dynosaur532, gnarly513, gnarly532
from ttsign.algorithms.query import serialize_pairs
from ttsign.vectors import register


def _get(obj: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str = "inputs") -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise AssertionError(f"{where}.{name} missing or of the wrong type: {value!r}")
    return value


def _opt(obj: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    if name not in obj:
        return default
    return _get(obj, name, kind)


def _key(inputs: dict[str, Any]) -> bytes:
    """The envelope key: ``key_words`` (12 uint32), or ``key_hex`` (48 bytes hex)."""
    if "key_words" in inputs:
        words = _get(inputs, "key_words", list)
        try:
            return gnarly.key_from_words(words)
        except (ValueError, TypeError) as exc:
            raise AssertionError(f"inputs.key_words: {exc}") from None
    try:
        return bytes.fromhex(_get(inputs, "key_hex", str))
    except ValueError as exc:
        raise AssertionError(f"inputs.key_hex: {exc}") from None


def _expected(vector: dict[str, Any], name: str) -> str:
    exp = vector.get("expected")
    if isinstance(exp, dict):
        return _get(exp, name, str, "expected")
    raise AssertionError(f"vector has no 'expected' object with {name!r}")


def _compare(token: str, expected: str, ours: Any, theirs: Any) -> None:
    """Raise with the first differing character and every differing decoded field."""
    if token == expected:
        return
    pos = next((i for i, (a, b) in enumerate(zip(token, expected, strict=False)) if a != b), None)
    if pos is None:
        pos = min(len(token), len(expected))
    diffs = []
    if ours is not None and theirs is not None:
        a, b = ours.to_dict(), theirs.to_dict()
        diffs = [f"{k}: ours {a.get(k)!r} vs expected {b.get(k)!r}" for k in b if a.get(k) != b.get(k)]
    detail = "; ".join(diffs) if diffs else "decoded fields agree (envelope difference)"
    raise AssertionError(
        f"token differs from expected at character {pos} (ours {len(token)} chars, expected {len(expected)}): {detail}"
    )


def _check_pairs(inputs: dict[str, Any]) -> None:
    pairs = inputs.get("query_pairs")
    if pairs is None:
        return
    query = _get(inputs, "business_query", str)
    if not isinstance(pairs, list) or not all(
        isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs
    ):
        raise AssertionError("inputs.query_pairs must be a list of [name, value] string pairs")
    got = serialize_pairs((p[0], p[1]) for p in pairs)
    if got != query:
        pos = next((i for i, (a, b) in enumerate(zip(got, query, strict=False)) if a != b), min(len(got), len(query)))
        raise AssertionError(
            f"query_pairs serialise to a different business_query at character {pos}: "
            f"{got[max(0, pos - 20) : pos + 20]!r} vs {query[max(0, pos - 20) : pos + 20]!r}"
        )


def _field_mismatches(fields: Any, want: dict[str, Any]) -> list[str]:
    return [f"{k}: decoded {getattr(fields, k)!r}, input {v!r}" for k, v in want.items() if getattr(fields, k) != v]


def _decode_or_fail(decoder: Any, token: str) -> Any:
    try:
        return decoder(token)
    except ValueError as exc:
        raise AssertionError(f"expected token does not decode: {exc}") from None


@register("x-gnarly-5.1.3")
def check_xgnarly_513(vector: dict[str, Any]) -> None:
    """tokens.md 1.2: rebuild with ``xgnarly.mjs`` semantics, decode, verify."""
    expected = vector.get("expected")
    if not isinstance(expected, str):
        raise AssertionError("'expected' must be the X-Gnarly string")
    query = _get(vector, "queryString", str, "vector")
    body = _get(vector, "body", str, "vector")
    ua = _get(vector, "userAgent", str, "vector")
    options = _get(vector, "options", dict, "vector")
    counters = vector.get("counters") or {}
    if not isinstance(counters, dict):
        raise AssertionError("'counters' must be an object")
    total, intercepted = gnarly513.counters_from_mapping(counters)
    try:
        ts_ms = _get(options, "timestampMs", int, "options")
        low16 = int(_get(options, "randomLow16", str, "options"), 16)
        r32 = int(_get(options, "random32", str, "options"), 16)
        key = bytes.fromhex(_get(options, "randomKey", str, "options"))
    except ValueError as exc:
        raise AssertionError(f"options: {exc}") from None
    kwargs: dict[str, Any] = {
        "timestamp_ms": ts_ms,
        "random_low16": low16,
        "random32": r32,
        "total_requests": total,
        "intercepted_requests": intercepted,
        "ub_code": _opt(vector, "ubcode", int, 4),
        "sdk_version": _opt(vector, "sdkVersion", str, gnarly513.SDK_VERSION),
    }
    token = gnarly513.encode(query, body, ua, key=key, **kwargs)
    theirs = _decode_or_fail(gnarly513.decode, expected)
    ours = gnarly513.decode(token)
    _compare(token, expected, ours, theirs)
    if gnarly.unseal(expected).key != key:
        raise AssertionError("the expected token does not carry options.randomKey")
    bad = _field_mismatches(
        theirs,
        {
            "timestamp": ts_ms // 1000,
            "ms_clock": ts_ms % (1 << 31),
            "total_requests": total & 0xFFFF,  # the 2-byte slots keep the low bytes (tokens.md 1.2)
            "intercepted_requests": intercepted & 0xFFFF,
            "mix": (65 << 16) | low16,
            "random32": r32,
            "ub_code": kwargs["ub_code"],
            "sdk_version": kwargs["sdk_version"],
        },
    )
    if bad:
        raise AssertionError("decoded fields disagree with the inputs: " + "; ".join(bad))
    problems = gnarly513.verify(theirs, query_string=query, body=body, user_agent=ua)
    # Key 0 folds untruncated counters: it cannot verify when a counter sum exceeds its 2-byte slot.
    if max(total, intercepted) > 0xFFFF:
        problems.pop("G0", None)
    if problems:
        raise AssertionError(f"verifier rejects the expected token: {problems}")


@register("x-gnarly-5.3.2")
def check_xgnarly_532(vector: dict[str, Any]) -> None:
    """gnarly-532.md section 1: rebuild from ``inputs``, decode, verify, and check the wire-level pair."""
    inputs = _get(vector, "inputs", dict, "vector")
    expected = _expected(vector, "x_gnarly")
    _check_pairs(inputs)
    sealed = _get(inputs, "sealed_query", str)
    if all(k in inputs for k in ("business_query", "x_dynosaur", "ms_token")):
        s = gnarly532.sealed_string(
            _get(inputs, "business_query", str), _get(inputs, "x_dynosaur", str), _get(inputs, "ms_token", str)
        )
        if s != sealed:
            raise AssertionError("sealed_query != business_query&X-Dynosaur=x_dynosaur&msToken=ms_token (section 0)")
    try:
        body = bytes.fromhex(_opt(inputs, "body_hex", str, ""))
    except ValueError as exc:
        raise AssertionError(f"inputs.body_hex: {exc}") from None
    ua = _get(inputs, "user_agent", str)
    key = _key(inputs)
    order = inputs.get("record_order")
    kwargs: dict[str, Any] = {
        "timestamp": _get(inputs, "timestamp", int),
        "nonce": _get(inputs, "nonce", int),
        "nonce2": _get(inputs, "nonce2", int),
        "sequence": _get(inputs, "sequence", int),
        "env_code": _opt(inputs, "env_code", int, 65),
        "ub_code": _opt(inputs, "ub_code", int, 8),
        "sdk_version": _opt(inputs, "sdk_version", str, gnarly532.PAYLOAD_VERSION),
        "scm_version": _opt(inputs, "scm_version", str, gnarly532.SCM_VERSION),
    }
    try:
        token = gnarly532.encode(sealed, body, ua, key=key, record_order=order, **kwargs)
    except ValueError as exc:
        raise AssertionError(f"inputs rejected by the encoder: {exc}") from None
    theirs = _decode_or_fail(gnarly532.decode, expected)
    _compare(token, expected, gnarly532.decode(token), theirs)
    if gnarly.unseal(expected).key != key:
        raise AssertionError("the expected token does not carry inputs.key_words")
    want = dict(kwargs)
    want["sequence_13"] = want["sequence"]
    if order is not None:
        want["record_order"] = tuple(order)
    bad = _field_mismatches(theirs, want)
    if bad:
        raise AssertionError("decoded fields disagree with the inputs: " + "; ".join(bad))
    problems = gnarly532.verify(theirs, sealed_query=sealed, body=body, user_agent=ua, env_codes=None, ub_codes=None)
    if problems:
        raise AssertionError(f"verifier rejects the expected token: {problems}")
    # Wire-level pass (section 3.3): the X-Dynosaur sealed into S must verify against Q, UA and this token.
    if "x_dynosaur" in inputs:
        d = _decode_or_fail(dynosaur532.decode, _get(inputs, "x_dynosaur", str))
        cross = dynosaur532.verify(
            d, business_query=_get(inputs, "business_query", str), user_agent=ua, gnarly=theirs, clock_slack=1
        )
        if cross:
            raise AssertionError(f"the sealed X-Dynosaur does not verify against this request: {cross}")


@register("x-dynosaur-5.3.2")
def check_xdynosaur_532(vector: dict[str, Any]) -> None:
    """gnarly-532.md section 2: rebuild from ``inputs`` (plain or pre-hashed), decode, verify."""
    inputs = _get(vector, "inputs", dict, "vector")
    expected = _expected(vector, "x_dynosaur")
    _check_pairs(inputs)
    hashes: dict[str, Any] = {}
    for name in ("query_hash", "ua_hash", "body_hash"):
        if name in inputs:
            hashes[name] = _get(inputs, name, int)
    query = "" if "query_hash" in hashes else _get(inputs, "business_query", str)
    ua = "" if "ua_hash" in hashes else _get(inputs, "user_agent", str)
    body = "" if "body_hash" in hashes else _opt(inputs, "body_hash_input", str, "")
    key = _key(inputs)
    kwargs: dict[str, Any] = {
        "timestamp": _get(inputs, "timestamp", int),
        "nonce": _get(inputs, "nonce", int),
        "counter_25": _get(inputs, "counter_25", int),
        "counter_2f": _get(inputs, "counter_2f", int),
        "env_code": _opt(inputs, "env_code", int, 65),
        "ub_code": _opt(inputs, "ub_code", int, 8),
        "page": _opt(inputs, "page", str, "www.tiktok.com/"),
        "canvas_hash": _opt(inputs, "canvas_hash", str, "-1"),
        "webgl_hash": _opt(inputs, "webgl_hash", str, "0"),
        "component_version": _opt(inputs, "component_version", str, "0"),
        "device_hash": _opt(inputs, "device_hash", str, "0"),
        "vm_state_hash": _opt(inputs, "vm_state_hash", int, dynosaur532.VM_STATE_HASH),
        "sdk_version": _opt(inputs, "sdk_version", str, dynosaur532.PAYLOAD_VERSION),
        "scm_version": _opt(inputs, "scm_version", str, dynosaur532.SCM_VERSION),
    }
    try:
        token = dynosaur532.encode(query, ua, body=body, key=key, **hashes, **kwargs)
    except ValueError as exc:
        raise AssertionError(f"inputs rejected by the encoder: {exc}") from None
    theirs = _decode_or_fail(dynosaur532.decode, expected)
    _compare(token, expected, dynosaur532.decode(token), theirs)
    if gnarly.unseal(expected).key != key:
        raise AssertionError("the expected token does not carry inputs.key_words")
    want = dict(kwargs)
    want["query_hash"] = hashes.get("query_hash", dynosaur532.hash_state(query))
    want["ua_hash"] = hashes.get("ua_hash", dynosaur532.hash_state(ua))
    want["body_hash"] = hashes.get("body_hash", dynosaur532.hash_state(body))
    bad = _field_mismatches(theirs, want)
    if bad:
        raise AssertionError("decoded fields disagree with the inputs: " + "; ".join(bad))
    problems = dynosaur532.verify(
        theirs, query_hash=want["query_hash"], ua_hash=want["ua_hash"], body_hash=want["body_hash"]
    )
    if problems:
        raise AssertionError(f"verifier rejects the expected token: {problems}")
