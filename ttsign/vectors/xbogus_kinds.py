"""Vector checkers for kinds ``x-bogus``, ``_signature`` and ``frontiersign_stub`` (protocol/xbogus.md).

Inputs are read from the vector's own fields, never looked up by id, so that vectors captured later in
the same format are checked the same way. Environment facts that a capture may not state (X-Bogus
header and canvas, acrawler canvas and mask, frontierSign init flag) fall back to the values the
expected token carries; the computed parts (digests, time, counters, checksums) are always checked.
"""

from __future__ import annotations

from typing import Any

from ttsign.algorithms import signature, xbogus
from ttsign.algorithms.errors import TokenError
from ttsign.vectors import register


def _str(vector: dict[str, Any], name: str) -> str:
    value = vector.get(name)
    if not isinstance(value, str):
        raise AssertionError(f"vector field {name!r} missing or not a string: {value!r}")
    return value


def _int(vector: dict[str, Any], name: str) -> int:
    value = vector.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise AssertionError(f"vector field {name!r} missing or not an integer: {value!r}")
    return value


def _timestamp(vector: dict[str, Any]) -> int:
    """``timestamp_s``, else ``frozen_date_now_ms // 1000``; both must agree when both are given."""
    ts = vector.get("timestamp_s")
    ms = vector.get("frozen_date_now_ms")
    if ts is None and ms is None:
        raise AssertionError("vector has neither 'timestamp_s' nor 'frozen_date_now_ms'")
    if ms is not None:
        if not isinstance(ms, int) or isinstance(ms, bool):
            raise AssertionError(f"'frozen_date_now_ms' is not an integer: {ms!r}")
        if ts is not None and ts != ms // 1000:
            raise AssertionError(f"timestamp_s {ts} != frozen_date_now_ms // 1000 = {ms // 1000}")
    if ts is None:
        return ms // 1000  # type: ignore[operator]
    return _int(vector, "timestamp_s")


def _decode_or_fail(token: str, what: str) -> xbogus.XBogusFields:
    try:
        return xbogus.decode(token)
    except TokenError as exc:
        raise AssertionError(f"{what} {token!r} does not decode: {exc}") from None


# --------------------------------------------------------------------------------------------------
# x-bogus


_OPAQUE = object()
"""Marker for a JSON body the SDK cannot read as bytes (object, number, boolean): field 13 c2 (§2.3)."""


def _xbogus_body(vector: dict[str, Any]) -> str | bytes | object:
    body = vector.get("body", "")
    if body is None or isinstance(body, str):
        return body or ""
    if isinstance(body, list) and all(isinstance(b, int) and 0 <= b <= 255 for b in body):
        return bytes(body)  # an Array / typed array: its element values as bytes
    return _OPAQUE


def _is_hook_vector(vector: dict[str, Any]) -> bool:
    if "ms_token" not in vector or not isinstance(vector.get("url"), str):
        return False
    return "hook" in str(vector.get("signing_path", "")).lower() or "sent_url_before_signatures" in vector


def _xbogus_query(vector: dict[str, Any]) -> str:
    """The signed query: for hook vectors rebuilt from url + ms_token by the §2.2 rules and checked."""
    if not _is_hook_vector(vector):
        return _str(vector, "query")
    url, ms_token = _str(vector, "url"), _str(vector, "ms_token")
    try:
        sent, signed = xbogus.hook_signed_query(url, ms_token)
    except ValueError as exc:
        raise AssertionError(f"hook_signed_query({url!r}) raised: {exc}") from None
    want_sent = vector.get("sent_url_before_signatures")
    if want_sent is not None and sent != want_sent:
        raise AssertionError(f"hook URL: got {sent!r}, expected {want_sent!r}")
    want_query = vector.get("query")
    if want_query is not None and signed != want_query:
        raise AssertionError(f"hook signed query: got {signed!r}, expected {want_query!r}")
    return signed


def _field_diff(got: xbogus.XBogusFields, want: xbogus.XBogusFields) -> str:
    g, w = got.to_dict(), want.to_dict()
    return ", ".join(f"{k}: got {g[k]} want {w[k]}" for k in g if g[k] != w[k] and k != "time")


_DECODED_NAMES = {
    "env_bytes_hex": "header",
    "query_md5md5_bytes_14_15": "query_tail",
    "body_md5md5_bytes_14_15": "body_tail",
    "ua_md5_bytes_14_15": "ua_tail",
    "timestamp_s": "timestamp",
    "canvas": "canvas",
}


@register("x-bogus")
def check_xbogus(vector: dict[str, Any]) -> None:
    """Our X-Bogus for the vector's (query, body, UA, time, header, canvas) must equal the expected one.

    Also: the expected token decodes to ``expected_decoded`` (when given), and ``verify`` accepts it.
    """
    expected = _str(vector, "expected_x_bogus")
    want = _decode_or_fail(expected, "expected_x_bogus")
    ua = _str(vector, "user_agent")
    ts = _timestamp(vector)
    query = _xbogus_query(vector)
    body = _xbogus_body(vector)
    header_hex = vector.get("env_bytes_hex")
    header = bytes.fromhex(header_hex) if isinstance(header_hex, str) else want.header
    canvas = _int(vector, "canvas") if "canvas" in vector else want.canvas
    profile = xbogus.XBogusProfile(header, canvas)

    if body is _OPAQUE:
        got = xbogus.encode_fields(
            xbogus.XBogusFields(
                header=header,
                query_tail=xbogus.query_tail(query),
                body_tail=xbogus.OPAQUE_BODY_TAIL,
                ua_tail=xbogus.ua_tail(ua, header),
                timestamp=ts,
                canvas=canvas,
            )
        )
    else:
        got = xbogus.encode(query, body, ua, ts, profile)  # type: ignore[arg-type]
    if got != expected:
        diff = _field_diff(xbogus.decode(got), want)
        raise AssertionError(f"X-Bogus: got {got!r}, expected {expected!r} ({diff})")

    decoded = vector.get("expected_decoded")
    if isinstance(decoded, dict):
        fields = want.to_dict()
        for key, value in decoded.items():
            name = _DECODED_NAMES.get(key)
            if name is not None and fields[name] != value:
                raise AssertionError(f"decode: {key} is {fields[name]!r}, vector says {value!r}")
    if body is not _OPAQUE:
        bad = xbogus.verify(expected, query, body, ua)  # type: ignore[arg-type]
        if bad:
            raise AssertionError(f"verify rejects the expected token: {bad}")


# --------------------------------------------------------------------------------------------------
# _signature


@register("_signature")
def check_legacy_signature(vector: dict[str, Any]) -> None:
    """Our ``_signature`` for (url, UA, time, page, canvas, env mask) must equal the expected one.

    Also: the expected token decodes (given its time and page) to the vector's canvas and env mask.
    """
    expected = _str(vector, "expected_signature")
    ts = _timestamp(vector)
    page = _str(vector, "page_url")
    try:
        want = signature.decode_legacy_signature(expected, ts, page)
    except TokenError as exc:
        raise AssertionError(f"expected_signature {expected!r} does not decode: {exc}") from None
    canvas = _int(vector, "canvas") if "canvas" in vector else want.canvas
    env_mask = _int(vector, "env_flags") if "env_flags" in vector else want.env_mask
    tt_webid = vector.get("tt_webid") or ""
    uuid = vector.get("uuid") or ""
    got = signature.legacy_signature(
        _str(vector, "url"),
        _str(vector, "user_agent"),
        ts,
        page,
        canvas=canvas,
        env_mask=env_mask,
        tt_webid=tt_webid,
        uuid=uuid,
    )
    if got != expected:
        raise AssertionError(f"_signature: got {got!r}, expected {expected!r}")
    if (want.canvas, want.env_mask) != (canvas, env_mask):
        raise AssertionError(f"decode: canvas/env_mask {want.canvas}/{want.env_mask}, vector says {canvas}/{env_mask}")


# --------------------------------------------------------------------------------------------------
# frontiersign_stub


def _init_flag(vector: dict[str, Any]) -> bool | None:
    for source in (vector, vector.get("env") or {}):
        flag = source.get("sdk_init_called") if isinstance(source, dict) else None
        if isinstance(flag, bool):
            return flag
    return None


@register("frontiersign_stub")
def check_frontier_stub(vector: dict[str, Any]) -> None:
    """Each call's 16-character token must equal ``frontier_stub(x_ms_stub, call_index, header, init)``.

    A vector holds a ``calls`` list (``call_index``, ``x_ms_stub``, ``expected_token``) or one call's
    fields at top level. ``env_bytes_hex`` gives the header and ``env.sdk_init_called`` the init flag.
    """
    calls = vector.get("calls")
    if calls is None:
        calls = [vector]
    if not isinstance(calls, list) or not calls:
        raise AssertionError("vector field 'calls' is not a non-empty list")
    header_hex = vector.get("env_bytes_hex")
    initialized = _init_flag(vector)
    for call in calls:
        if not isinstance(call, dict):
            raise AssertionError(f"call is not an object: {call!r}")
        expected = _str(call, "expected_token")
        index = _int(call, "call_index")
        try:
            want = signature.decode_frontier_stub(expected)
        except TokenError as exc:
            raise AssertionError(f"call {index}: expected_token {expected!r} does not decode: {exc}") from None
        header = bytes.fromhex(header_hex) if isinstance(header_hex, str) else b"\x40" + want.header
        init = want.initialized if initialized is None else initialized
        got = signature.frontier_stub(_str(call, "x_ms_stub"), index, header, init)
        if got != expected:
            raise AssertionError(f"call {index}: got {got!r}, expected {expected!r} ({want.to_dict()})")
