"""The query Euler's WebSocket SDK opens its socket with, read and checked (`createWebSocketUrl` writes it).

`uniqueId` (required), `apiKey` / `jwtKey` (the credential: checked by the API-key middleware, never here)
and the `features.*` flags, each a string as the SDK's `URLSearchParams` writes it (`true`/`false`/`1`/`0`
and numbers). A value outside the SDK's own schema (its zod ranges) is refused with 4400, as Euler does.

What ttsign does with each flag:

=============================  =====================================================================
``bundleEvents`` (true)        honoured: one JSON frame per upstream batch, else one per message
``rawMessages`` (false)        honoured: binary `WebcastPushFrame`s instead of JSON
``normalizeUniqueId`` (true)   honoured: a profile URL or `@name` becomes the bare username
``includeRawBytes`` (false)    honoured: each JSON message carries its payload in base64 (`raw`)
``schemaVersion`` (v2)         accepted (`v1`, `v2`); binary frames are TikTok's bytes either way; JSON
                               uses the v2 names
``closeInactiveWebSocketAfter``  honoured (30..3600 s, default 60): no message from TikTok for that long
                               closes the socket with 4006
``syntheticPresence``,         accepted and ignored: ttsign computes no synthetic join/leave presence
``syntheticPresenceLeaveAfter``
``useEnterpriseApi``           accepted and ignored: ttsign is the signing back end itself
=============================  =====================================================================

Pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ttsign.tiktok.rooms import RoomError, normalize_unique_id

_BOOLS = {"true": True, "1": True, "false": False, "0": False}


class OptionsError(ValueError):
    """A query the SDK itself would not have written (closed with 4400, the message as the reason)."""


@dataclass(frozen=True, slots=True)
class EulerOptions:
    unique_id: str
    bundle_events: bool = True
    raw_messages: bool = False
    normalize_unique_id: bool = True
    synthetic_presence: bool = False
    synthetic_presence_leave_after_s: float = 300.0
    close_inactive_after_s: float = 60.0
    schema_version: str = "v2"
    include_raw_bytes: bool = False
    use_enterprise_api: bool = False


def _flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    raw = query.get(f"features.{name}")
    if raw is None:
        return default
    if raw not in _BOOLS:
        raise OptionsError(f"features.{name} must be true, false, 1 or 0")
    return _BOOLS[raw]


def _number(query: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = query.get(f"features.{name}")
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise OptionsError(f"features.{name} must be a number ({low:g}..{high:g})") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise OptionsError(f"features.{name} must be {low:g}..{high:g}")
    return value


def euler_unique_id(raw: str, normalize: bool) -> str:
    """The SDK's `normalizeUniqueId` (a profile URL, `@name`), then ttsign's own username check."""
    uid = raw
    if normalize:
        uid = uid.replace("https://www.tiktok.com/", "").replace("/live", "").replace("@", "").strip()
    try:
        return normalize_unique_id(uid)
    except RoomError as err:
        raise OptionsError(str(err)) from None


def parse_options(query: Mapping[str, str]) -> EulerOptions:
    """The options of one connection; OptionsError for a missing `uniqueId` or a flag out of range."""
    raw_uid = query.get("uniqueId", "")
    if not raw_uid:
        raise OptionsError("uniqueId is required: the TikTok username of the LIVE room")
    normalize = _flag(query, "normalizeUniqueId", True)
    schema = query.get("features.schemaVersion", "v2")
    if schema not in ("v1", "v2"):
        raise OptionsError("features.schemaVersion must be v1 or v2")
    return EulerOptions(
        unique_id=euler_unique_id(raw_uid, normalize),
        bundle_events=_flag(query, "bundleEvents", True),
        raw_messages=_flag(query, "rawMessages", False),
        normalize_unique_id=normalize,
        synthetic_presence=_flag(query, "syntheticPresence", False),
        synthetic_presence_leave_after_s=_number(query, "syntheticPresenceLeaveAfter", 300, 60, 3600),
        close_inactive_after_s=_number(query, "closeInactiveWebSocketAfter", 60, 30, 3600),
        schema_version=schema,
        include_raw_bytes=_flag(query, "includeRawBytes", False),
        use_enterprise_api=_flag(query, "useEnterpriseApi", False),
    )
