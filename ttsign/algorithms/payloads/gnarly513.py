"""X-Gnarly payload version 5.1.3-ZTCA, as built by the public ``xgnarly.mjs`` (protocol/tokens.md 1.2).

Layout: a count byte (16), then 16 records ``key (1) || length (2, big-endian) || value``, keys 0-15,
emitted in the fixed order :data:`ORDER` (1, 8, 12, 11, 6, 9, 4, 7, 0, 14, 15, 2, 3, 10, 5, 13).
Integers are big-endian at a fixed width per key and keep only their low bytes when too wide; strings
are UTF-8. The envelope is the shared one (``ttsign.algorithms.gnarly``, tokens.md 1.1).

====  =========================  =====  ==================================================================
key   attribute                  width  value
====  =========================  =====  ==================================================================
0     ``checksum``               4      XOR of every numeric field (1, 2, 6, 7, 8, 11-15), untruncated
1     ``env_code``               2      65 in ``xgnarly.mjs``
2     ``ub_code``                2      ``ubcode`` (server.mjs passes 4)
3     ``query_md5``              str    md5 hex of the query string as sent (without X-Bogus/X-Gnarly)
4     ``body_md5``               str    md5 hex of the body
5     ``user_agent_md5``         str    md5 hex of the User-Agent
6     ``timestamp``              4      floor(timestampMs / 1000)
7     ``canvas``                 4      constant 3181061566
8     ``ms_clock``               4      timestampMs mod 2**31
9     ``payload_version``        str    ``"5.1.3-ZTCA"``
10    ``sdk_version``            str    sdkVersion (server.mjs: ``"1.0.0.368"``)
11    ``constant_11``            2      1
12    ``total_requests``         2      totalXHRRequests + totalFetchRequests
13    ``intercepted_requests``   2      interceptedXHRRequests + interceptedFetchRequests
14    ``mix``                    4      (env << 16) | randomLow16
15    ``random32``               4      random32
====  =========================  =====  ==================================================================

The parser reads by key and accepts 2- or 4-byte integers at any key (tokens.md 1.4, step 4).

Errors: :func:`parse_payload` and :func:`decode` raise :class:`PayloadError` (or
:class:`EnvelopeError` from the envelope), both ``ValueError``; bad encoder arguments raise
``ValueError``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ttsign.algorithms import gnarly
from ttsign.algorithms.payloads.records import pack_counted, parse_counted

__all__ = [
    "CANVAS",
    "DEFAULT_WIDTHS",
    "INT_KEYS",
    "KEYS",
    "ORDER",
    "PAYLOAD_VERSION",
    "SDK_VERSION",
    "STRING_KEYS",
    "Fields",
    "build_payload",
    "checksum",
    "compute_fields",
    "counters_from_mapping",
    "decode",
    "encode",
    "pack_fields",
    "parse_payload",
    "verify",
]

PAYLOAD_VERSION = "5.1.3-ZTCA"
SDK_VERSION = "1.0.0.368"
"""The sdkVersion that ``server.mjs`` passes."""
CANVAS = 3181061566
"""Key 7: the canvas-fingerprint constant of 5.1.3 (5.1.0 used 1245783967)."""
COUNT = 16
KEYS: tuple[int, ...] = tuple(range(16))
ORDER: tuple[int, ...] = (1, 8, 12, 11, 6, 9, 4, 7, 0, 14, 15, 2, 3, 10, 5, 13)
"""The fixed record order of ``xgnarly.mjs`` (tokens.md 1.2)."""
STRING_KEYS = frozenset({3, 4, 5, 9, 10})
INT_KEYS = frozenset(KEYS) - STRING_KEYS
DEFAULT_WIDTHS: Mapping[int, int] = {0: 4, 1: 2, 2: 2, 6: 4, 7: 4, 8: 4, 11: 2, 12: 2, 13: 2, 14: 4, 15: 4}
NUMERIC_KEYS = (1, 2, 6, 7, 8, 11, 12, 13, 14, 15)
"""The fields folded into key 0."""

_M32 = 0xFFFFFFFF
_ATTR: dict[int, str] = {
    0: "checksum",
    1: "env_code",
    2: "ub_code",
    3: "query_md5",
    4: "body_md5",
    5: "user_agent_md5",
    6: "timestamp",
    7: "canvas",
    8: "ms_clock",
    9: "payload_version",
    10: "sdk_version",
    11: "constant_11",
    12: "total_requests",
    13: "intercepted_requests",
    14: "mix",
    15: "random32",
}
_KEYSET = frozenset(KEYS)
_DEFAULT_WIDTH_PAIRS = tuple(sorted(DEFAULT_WIDTHS.items()))


@dataclass(frozen=True)
class Fields:
    """The decoded records of one 5.1.3-ZTCA payload; see the module docstring for keys."""

    checksum: int
    env_code: int
    ub_code: int
    query_md5: str
    body_md5: str
    user_agent_md5: str
    timestamp: int
    canvas: int
    ms_clock: int
    payload_version: str
    sdk_version: str
    constant_11: int
    total_requests: int
    intercepted_requests: int
    mix: int
    random32: int
    record_order: tuple[int, ...] = ORDER
    """The keys in the order the records appear."""
    widths: tuple[tuple[int, int], ...] = field(default=_DEFAULT_WIDTH_PAIRS)
    """``(key, byte width)`` for every integer key, ascending by key."""

    def by_key(self) -> dict[int, int | str]:
        """Values keyed by record key 0..15."""
        return {k: getattr(self, a) for k, a in _ATTR.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: ints and strings, plus the timestamp as ISO 8601 UTC."""
        out: dict[str, Any] = {a: getattr(self, a) for a in _ATTR.values()}
        try:
            iso = datetime.fromtimestamp(self.timestamp, UTC).isoformat().replace("+00:00", "Z")
        except (OverflowError, OSError, ValueError):
            iso = ""
        out["timestamp_iso"] = iso
        out["record_order"] = list(self.record_order)
        out["widths"] = {str(k): w for k, w in self.widths}
        return out


def counters_from_mapping(counters: Mapping[str, int] | None) -> tuple[int, int]:
    """``(total, intercepted)`` from an ``xgnarly.mjs`` counters object; missing keys count as 0."""
    c = counters or {}
    total = int(c.get("totalXHRRequests", 0)) + int(c.get("totalFetchRequests", 0))
    intercepted = int(c.get("interceptedXHRRequests", 0)) + int(c.get("interceptedFetchRequests", 0))
    return total, intercepted


def checksum(values: Mapping[int, int | str]) -> int:
    """Key 0 before truncation: the XOR of the numeric fields 1, 2, 6, 7, 8, 11-15 (tokens.md 1.2)."""
    x = 0
    for k in NUMERIC_KEYS:
        v = values[k]
        assert isinstance(v, int)
        x ^= v
    return x


def _md5(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def _nonneg(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _pack(values: Mapping[int, int | str], order: Iterable[int], widths: Mapping[int, int]) -> bytes:
    return pack_counted(values, order, widths, string_keys=STRING_KEYS, encoding="utf-8", truncate=True)


def _order(record_order: Iterable[int] | None) -> tuple[int, ...]:
    if record_order is None:
        return ORDER
    order = tuple(record_order)
    if len(order) != COUNT or set(order) != _KEYSET:
        raise ValueError(f"record_order must be a permutation of 0..15, got {list(order)}")
    return order


def build_payload(
    query_string: str | bytes,
    body: str | bytes,
    user_agent: str,
    *,
    timestamp_ms: int,
    random_low16: int,
    random32: int,
    total_requests: int = 0,
    intercepted_requests: int = 0,
    ub_code: int = 4,
    env_code: int = 65,
    sdk_version: str = SDK_VERSION,
    payload_version: str = PAYLOAD_VERSION,
    record_order: Iterable[int] | None = None,
) -> bytes:
    """The plaintext payload (tokens.md 1.2); see :func:`encode` for the arguments."""
    _nonneg("timestamp_ms", timestamp_ms)
    _nonneg("total_requests", total_requests)
    _nonneg("intercepted_requests", intercepted_requests)
    _nonneg("ub_code", ub_code)
    _nonneg("env_code", env_code)
    if not isinstance(random_low16, int) or not 0 <= random_low16 <= 0xFFFF:
        raise ValueError(f"random_low16 must be 0..65535, got {random_low16!r}")
    if not isinstance(random32, int) or not 0 <= random32 <= _M32:
        raise ValueError(f"random32 must be a uint32, got {random32!r}")
    values: dict[int, int | str] = {
        1: env_code,
        2: ub_code,
        3: _md5(query_string),
        4: _md5(body),
        5: _md5(user_agent),
        6: timestamp_ms // 1000,
        7: CANVAS,
        8: timestamp_ms % (1 << 31),
        9: payload_version,
        10: sdk_version,
        11: 1,
        12: total_requests,
        13: intercepted_requests,
        14: (env_code << 16) | random_low16,
        15: random32,
    }
    values[0] = checksum(values)  # over the untruncated values; truncated when packed
    return _pack(values, _order(record_order), DEFAULT_WIDTHS)


def encode(
    query_string: str | bytes,
    body: str | bytes,
    user_agent: str,
    *,
    timestamp_ms: int,
    random_low16: int,
    random32: int,
    key: bytes,
    total_requests: int = 0,
    intercepted_requests: int = 0,
    ub_code: int = 4,
    env_code: int = 65,
    sdk_version: str = SDK_VERSION,
    payload_version: str = PAYLOAD_VERSION,
    record_order: Iterable[int] | None = None,
) -> str:
    """X-Gnarly 5.1.3-ZTCA, byte-identical to ``xgnarly.mjs`` ``encode`` (tokens.md 1.2, 1.7).

    Args:
        query_string: the query as sent, without X-Bogus / X-Gnarly; a ``str`` is hashed as UTF-8.
        body: the request body (``""`` for GET); a ``str`` is hashed as UTF-8.
        user_agent: the ``User-Agent`` header.
        timestamp_ms: unix milliseconds (keys 6 and 8).
        random_low16: 16 random bits, the low half of key 14 (``options.randomLow16``).
        random32: 32 random bits, key 15 (``options.random32``).
        key: 48 random bytes (``options.randomKey``).
        total_requests, intercepted_requests: keys 12 and 13 (see :func:`counters_from_mapping`).
        ub_code, env_code: keys 2 and 1 (``xgnarly.mjs`` fixes env at 65; server.mjs passes ub 4).
        sdk_version: key 10. payload_version: key 9.
        record_order: a permutation of 0..15; ``None`` is the encoder's fixed :data:`ORDER`.
    """
    payload = build_payload(
        query_string,
        body,
        user_agent,
        timestamp_ms=timestamp_ms,
        random_low16=random_low16,
        random32=random32,
        total_requests=total_requests,
        intercepted_requests=intercepted_requests,
        ub_code=ub_code,
        env_code=env_code,
        sdk_version=sdk_version,
        payload_version=payload_version,
        record_order=record_order,
    )
    return gnarly.seal(payload, key)


def compute_fields(query_string: str | bytes, body: str | bytes, user_agent: str, **kwargs: Any) -> Fields:
    """The :class:`Fields` :func:`encode` would seal; takes :func:`build_payload`'s arguments."""
    return parse_payload(build_payload(query_string, body, user_agent, **kwargs))


def pack_fields(fields: Fields) -> bytes:
    """Serialise decoded fields exactly, in their record order and widths: the inverse of parsing."""
    widths = dict(fields.widths)
    for k, w in widths.items():
        if k not in INT_KEYS or w not in (2, 4):
            raise ValueError(f"widths: key {k} cannot be {w} bytes")
    values = fields.by_key()
    for k in INT_KEYS:
        v = values[k]
        if not isinstance(v, int) or not 0 <= v < 1 << (8 * widths[k]):
            raise ValueError(f"key {k} = {v!r} does not fit its {widths[k]}-byte slot")
    return _pack(values, _order(fields.record_order), widths)


def parse_payload(data: bytes) -> Fields:
    """Parse a 5.1.3-ZTCA payload by key (tokens.md 1.4, step 4).

    Requires: count byte 16; 16 records with unique keys, exactly 0..15; integers of 2 or 4 bytes;
    UTF-8 strings at keys 3, 4, 5, 9, 10; the payload consumed exactly. Any order is accepted.
    """
    rec = parse_counted(
        data,
        count=COUNT,
        keys=_KEYSET,
        string_keys=STRING_KEYS,
        encoding="utf-8",
        label="X-Gnarly 5.1.3",
        keys_text="0-15",
    )
    values, widths, order = rec.values, rec.widths, rec.order
    return Fields(
        **{a: values[k] for k, a in _ATTR.items()},  # type: ignore[arg-type]
        record_order=tuple(order),
        widths=tuple(sorted(widths.items())),
    )


def decode(token: str) -> Fields:
    """Unseal an X-Gnarly and parse its 5.1.3-ZTCA payload."""
    return parse_payload(gnarly.unseal(token).payload)


def verify(
    fields: Fields,
    *,
    query_string: str | bytes | None = None,
    body: str | bytes | None = "",
    user_agent: str | None = None,
    now: float | None = None,
    tolerance: float = 300.0,
) -> dict[str, str]:
    """The checks of tokens.md 1.4 step 5; returns ``{check id: reason}`` for every failure.

    ``G3``/``G4``/``G5``: md5 of query / body / User-Agent (skipped when ``None``); ``G6``: freshness
    (only with ``now``); ``G0``: key 0 equals the XOR of the decoded numeric fields. ``G0`` fails,
    by construction of the encoder, when a counter sum exceeded its 2-byte slot (vector shared-08).
    """
    bad: dict[str, str] = {}
    f = fields
    if query_string is not None and f.query_md5 != (h := _md5(query_string)):
        bad["G3"] = f"md5 of the query is {h}, the token has {f.query_md5}"
    if body is not None and f.body_md5 != (h := _md5(body)):
        bad["G4"] = f"md5 of the body is {h}, the token has {f.body_md5}"
    if user_agent is not None and f.user_agent_md5 != (h := _md5(user_agent)):
        bad["G5"] = f"md5 of the User-Agent is {h}, the token has {f.user_agent_md5}"
    if f.checksum != (c := checksum(f.by_key()) & _M32):
        bad["G0"] = f"key 0 is {f.checksum}, the XOR of the numeric fields is {c}"
    if now is not None and abs(now - f.timestamp) > tolerance:
        bad["G6"] = f"timestamp {f.timestamp} is {now - f.timestamp:+.0f} s from now (tolerance {tolerance:g})"
    return bad
