"""Both paths side by side: each compiled function and the pure-Python reference it must equal."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ttsign.algorithms import signature, xbogus
from ttsign.algorithms.payloads import dynosaur532, gnarly513, gnarly532


def dynosaur(fast: ModuleType, query: Any, ua: Any, *, key: bytes, **kw: Any) -> tuple[str, str]:
    """(reference, compiled) X-Dynosaur for `dynosaur532.encode`'s arguments."""
    ref = dynosaur532.encode(query, ua, key=key, **kw)
    got = fast.dynosaur_532(
        query,
        ua,
        kw.get("body", b""),
        kw["timestamp"],
        kw["nonce"],
        kw["counter_25"],
        kw["counter_2f"],
        kw.get("env_code", 65),
        kw.get("ub_code", 8),
        kw.get("page", "www.tiktok.com/"),
        str(kw.get("canvas_hash", "-1")),
        str(kw.get("webgl_hash", "0")),
        kw.get("component_version", "0"),
        kw.get("device_hash", "0"),
        key,
        kw.get("query_hash"),
        kw.get("ua_hash"),
        kw.get("body_hash"),
        kw.get("vm_state_hash", dynosaur532.VM_STATE_HASH),
        kw.get("sdk_version", dynosaur532.PAYLOAD_VERSION),
        kw.get("scm_version", dynosaur532.SCM_VERSION),
    )
    return ref, got


def gnarly_532(fast: ModuleType, sealed: Any, body: Any, ua: Any, *, key: bytes, **kw: Any) -> tuple[str, str]:
    ref = gnarly532.encode(sealed, body, ua, key=key, **kw)
    got = fast.gnarly_532(
        sealed,
        body,
        ua,
        kw["timestamp"],
        kw["nonce"],
        kw["nonce2"],
        kw["sequence"],
        kw.get("env_code", 65),
        kw.get("ub_code", 8),
        key,
        kw.get("record_order"),
        kw.get("sdk_version", gnarly532.PAYLOAD_VERSION),
        kw.get("scm_version", gnarly532.SCM_VERSION),
    )
    return ref, got


def gnarly_513(fast: ModuleType, query: Any, body: Any, ua: Any, *, key: bytes, **kw: Any) -> tuple[str, str]:
    ref = gnarly513.encode(query, body, ua, key=key, **kw)
    got = fast.gnarly_513(
        query,
        body,
        ua,
        kw["timestamp_ms"],
        kw["random_low16"],
        kw["random32"],
        key,
        kw.get("total_requests", 0),
        kw.get("intercepted_requests", 0),
        kw.get("ub_code", 4),
        kw.get("env_code", 65),
        kw.get("sdk_version", gnarly513.SDK_VERSION),
        kw.get("payload_version", gnarly513.PAYLOAD_VERSION),
        kw.get("record_order"),
    )
    return ref, got


def x_bogus(fast: ModuleType, query: Any, body: Any, ua: str, ts: int, header: bytes, canvas: int) -> tuple[str, str]:
    ref = xbogus.encode(query, body, ua, ts, xbogus.XBogusProfile(header, canvas))
    return ref, fast.xbogus(query, body, ua, ts, header, canvas)


def legacy(fast: ModuleType, url: str, ua: str, ts: int, page: str, **kw: Any) -> tuple[str, str]:
    ref = signature.legacy_signature(url, ua, ts, page, **kw)
    got = fast.legacy_signature(
        url,
        ua,
        ts,
        page,
        kw.get("canvas", signature.DEFAULT_SIGNATURE_CANVAS),
        kw.get("env_mask", 1),
        kw.get("tt_webid", ""),
        kw.get("uuid", ""),
    )
    return ref, got
