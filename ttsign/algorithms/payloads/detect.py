"""Tell X-Gnarly 5.1.3, X-Gnarly 5.3.2 and X-Dynosaur 5.3.x apart from an envelope's contents.

All three share the envelope (protocol/gnarly-532.md section E), so the token text alone does not say
which it is; the plaintext does:

* an X-Gnarly payload starts with a **count byte** (16 in both supported versions); its key set says
  the layout: keys 0-15 are 5.1.3-ZTCA (tokens.md 1.2), keys 0-6 and 8-16 (no 7) are 5.3.2
  (gnarly-532.md 1.1). Key 9 carries the payload version string.
* an X-Dynosaur payload has **no count byte**: it starts with record key 0x20 and holds keys
  0x20..0x38 ascending (gnarly-532.md 2.1); key 0x2A carries the payload version string.

Other layouts (SDK 1.0.0.417's 17-record "5.3.2", 5.1.0's 10 records) raise :class:`PayloadError`
naming what was found.
"""

from __future__ import annotations

from typing import Any

from ttsign.algorithms import gnarly
from ttsign.algorithms.errors import PayloadError
from ttsign.algorithms.payloads import dynosaur532, gnarly513, gnarly532

__all__ = ["describe", "describe_payload"]


def _tlv_keys(payload: bytes) -> list[int] | None:
    """The keys of a count-prefixed record list, or None when it does not frame exactly."""
    n = len(payload)
    pos = 1
    keys = []
    for _ in range(payload[0]):
        if pos + 3 > n:
            return None
        keys.append(payload[pos])
        pos += 3 + ((payload[pos + 1] << 8) | payload[pos + 2])
    return keys if pos == n else None


def describe_payload(payload: bytes) -> dict[str, Any]:
    """Classify and parse a plaintext payload; returns ``type``, ``payload_version``, ``layout``, ``fields``."""
    if not payload:
        raise PayloadError("empty payload: neither X-Gnarly nor X-Dynosaur")
    first = payload[0]
    keys = _tlv_keys(payload)
    if first == dynosaur532.KEYS[0]:
        try:
            d = dynosaur532.parse_payload(payload)
        except PayloadError:
            if keys is None:  # not a count-prefixed list either: report the X-Dynosaur problem
                raise
        else:
            return {
                "type": "x-dynosaur",
                "payload_version": d.sdk_version,
                "layout": "x-dynosaur-5.3.2",
                "fields": d.to_dict(),
            }
    if keys is None:
        raise PayloadError(
            f"unknown payload layout: first byte 0x{first:02X} is neither an X-Gnarly record count whose "
            "records frame the payload nor the X-Dynosaur key 0x20"
        )
    keyset = set(keys)
    if len(keys) == 16 and keyset == set(gnarly532.KEYS):
        g = gnarly532.parse_payload(payload)
        return {"type": "x-gnarly", "payload_version": g.sdk_version, "layout": "x-gnarly-5.3.2", "fields": g.to_dict()}
    if len(keys) == 16 and keyset == set(gnarly513.KEYS):
        h = gnarly513.parse_payload(payload)
        return {
            "type": "x-gnarly",
            "payload_version": h.payload_version,
            "layout": "x-gnarly-5.1.3",
            "fields": h.to_dict(),
        }
    raise PayloadError(
        f"unsupported X-Gnarly layout: {len(keys)} records with keys {sorted(keyset)} "
        "(supported: 16 records 0-15 = 5.1.3-ZTCA, 16 records 0-6,8-16 = 5.3.2)"
    )


def describe(token: str) -> dict[str, Any]:
    """Unseal an X-Gnarly / X-Dynosaur token and decode it, whichever it is.

    Returns ``{"type": "x-gnarly" | "x-dynosaur", "payload_version", "layout", "fields": {...},
    "envelope": {"rounds", "splice", "magic", "payload_length", "key_words"}}``. Raises
    :class:`EnvelopeError` or :class:`PayloadError` (both ``ValueError``) for anything else.
    """
    u = gnarly.unseal(token)
    out = describe_payload(u.payload)
    out["envelope"] = {
        "rounds": u.rounds,
        "splice": u.splice,
        "magic": u.magic,
        "payload_length": len(u.payload),
        "key_words": list(u.key_words),
    }
    return out
